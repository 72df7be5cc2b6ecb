"""Run the alerts service alone: ``python -m services.alerts``."""

from shared.kit.serve import serve

from services.alerts.app import create_app

serve(create_app)
