"""Run the metrics service alone: ``python -m services.metrics``."""

from services.metrics.app import create_app
from shared.kit.serve import serve

serve(create_app)
