"""Run the planning service alone: ``python -m services.planning``."""

from services.planning.app import create_app
from shared.kit.serve import serve

serve(create_app)
