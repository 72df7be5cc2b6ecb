"""Run the alerts service alone: ``python -m services.alerts``."""

from services.alerts.app import create_app
from shared.kit.serve import serve

serve(create_app)
