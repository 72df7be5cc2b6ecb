"""Run the approvals service alone: ``python -m services.approvals``."""

from services.approvals.app import create_app
from shared.kit.serve import serve

serve(create_app)
