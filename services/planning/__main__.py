"""Run the planning service alone: ``python -m services.planning``."""

from shared.kit.serve import serve

from services.planning.app import create_app

serve(create_app)
