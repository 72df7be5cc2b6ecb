"""Planning: campaign plans, objectives, budget, phases, risks, adjustments, retrospectives."""

SERVICE = "planning"
