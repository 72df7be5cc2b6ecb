"""Run the metrics service alone: ``python -m services.metrics``."""

from shared.kit.serve import serve

from services.metrics.app import create_app

serve(create_app)
