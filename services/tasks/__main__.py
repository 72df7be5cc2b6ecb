"""Run the tasks service alone: ``python -m services.tasks``."""

from services.tasks.app import create_app
from shared.kit.serve import serve

serve(create_app)
