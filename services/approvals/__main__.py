"""Run the approvals service alone: ``python -m services.approvals``."""

from shared.kit.serve import serve

from services.approvals.app import create_app

serve(create_app)
