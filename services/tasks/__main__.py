"""Run the tasks service alone: ``python -m services.tasks``."""

from shared.kit.serve import serve

from services.tasks.app import create_app

serve(create_app)
