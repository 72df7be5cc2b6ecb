"""The docs/domain.md tables as API payloads, shared with ``make demo``: one story for both."""

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
