"""The DOMAIN.md tables as API payloads; shared with ``make demo`` so both tell the same story."""

from demo.seed import AUDIENCE, CHANNELS, OBJECTIVES, PHASES, PLAN, RETROSPECTIVE, RISKS, budget

__all__ = [
    "AUDIENCE",
    "CHANNELS",
    "OBJECTIVES",
    "PHASES",
    "PLAN",
    "RETROSPECTIVE",
    "RISKS",
    "budget",
]
