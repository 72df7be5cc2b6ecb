"""What one run of the harness found, and the table ``make chaos`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

# How the heal phase ended.
DRAINED = "drained"  # outbox empty and the log consumed: whatever is missing now is gone
STALLED = "stalled"  # nothing moved for the stall window although work was left
DEADLINE = "deadline"  # still moving when the heal deadline passed


@dataclass
class Report:
    """The figures of one run over one bus."""

    bus: str
    seed: int
    min_kills: int = 0
    events: int = 0
    applied: int = 0
    applied_under_fire: int = 0
    lost: int = 0
    duplicate_effects: int = 0
    order_violations: int = 0
    duplicates_delivered: int = 0
    dead_letters: int = 0
    kills: dict[str, int] = field(default_factory=dict)
    fault_seconds: float = 0.0
    heal_seconds: float = 0.0
    heal_outcome: str = ""
    workdir: str = ""

    @property
    def total_kills(self) -> int:
        """Kills of either process, at fault points or at random."""
        return sum(self.kills.values())

    @property
    def late(self) -> int:
        """Events applied only in the heal phase: late, then delivered (not lost)."""
        return self.applied - self.applied_under_fire

    @property
    def seconds(self) -> float:
        """The whole run, both phases."""
        return self.fault_seconds + self.heal_seconds

    @property
    def passed(self) -> bool:
        """Nothing lost, doubled or reordered, with the log drained and enough kills."""
        return (
            self.heal_outcome == DRAINED
            and self.lost == 0
            and self.duplicate_effects == 0
            and self.order_violations == 0
            and self.total_kills >= self.min_kills
        )

    def table(self) -> str:
        """The figures as the closing note quotes them."""
        rows: list[tuple[str, object]] = [
            ("bus", self.bus),
            ("verdict", "PASS" if self.passed else "FAIL"),
            ("events recorded in the outbox", self.events),
            ("applied during the fault phase", self.applied_under_fire),
            ("late then delivered (applied while healing)", self.late),
            ("lost: recorded, never applied after healing (must be 0)", self.lost),
            ("duplicate effects (must be 0)", self.duplicate_effects),
            ("per-subject order violations (must be 0)", self.order_violations),
            ("duplicates delivered, absorbed by the inbox", self.duplicates_delivered),
            ("dead letters", self.dead_letters),
            *((f"kills at {point}", n) for point, n in sorted(self.kills.items())),
            (f"kills in all (at least {self.min_kills})", self.total_kills),
            ("heal phase ended", self.heal_outcome),
            ("seconds under fire", round(self.fault_seconds, 1)),
            ("seconds healing", round(self.heal_seconds, 1)),
            ("seed", self.seed),
        ]
        if self.workdir:
            rows.append(("worker logs", self.workdir))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
