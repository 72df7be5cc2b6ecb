"""What the diagnosis adds to the report: each channel's CLTV, CLTV/CAC and ineffective mark,
each funnel's bottleneck in words, and the plan's A/B experiments with their verdicts.

The channel figures are the report's own sums (so a ``known_at`` report judges the figures it
shows) put through the diagnosis's rules; cohorts and the CLTV parameters are as stored now.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.diagnosis import channels as rules
from services.metrics.diagnosis import channels_service, funnels_service
from services.metrics.diagnosis.channels_schemas import ChannelEfficiency
from services.metrics.diagnosis.funnels_schemas import ChannelFunnel, PlanFunnels
from services.metrics.experiments import service as experiments_service
from services.metrics.experiments.schemas import ExperimentReview
from services.metrics.models import PlanTarget
from services.metrics.reporting.i18n import Words

# The sums the channel rules read (cost, new customers, orders, GMV, repeat customers).
EFFICIENCY_METRICS = rules.METRICS


@dataclass(frozen=True)
class Diagnosis:
    """Channel efficiency by channel id under the plan's CLTV parameters, the funnels with
    their bottlenecks, the experiments, and the contingency reserve planning announced."""

    efficiency: dict[uuid.UUID, ChannelEfficiency]
    parameters: rules.Parameters
    funnels: PlanFunnels
    experiments: list[ExperimentReview]
    reserve: Decimal | None

    def bottlenecks(self) -> list[ChannelFunnel]:
        """The whole plan's funnel, then each channel's that has any step reported."""
        reported = [f for f in self.funnels.channels if any(s.count for s in f.steps)]
        return [self.funnels.plan, *reported]


def _shown(name: str, words: Words) -> str:
    """A channel's name; the report's own name for a channel no version names, translated."""
    return words(name) if name == "unmapped channel" else name


async def diagnose(
    session: AsyncSession,
    target: PlanTarget,
    channels: dict[uuid.UUID, tuple[str, dict[str, Decimal]]],
    first: date,
    last: date,
    language: str,
    known_at: datetime | None = None,
) -> Diagnosis:
    """The diagnosis of a plan over [first, last]; ``channels`` maps each channel id to its
    name and its sums as the report shows them."""
    words = Words(language, target.currency)
    stored = await channels_service.parameters(session, target.plan_id)
    params = channels_service.rule_parameters(stored)
    cohorts = await channels_service.cohorts_by_channel(session, target, first, last)
    efficiency = {
        channel_id: channels_service.judged(
            channel_id,
            name,
            rules.Figures.of(sums),
            cohorts.get(str(channel_id), []),
            params,
            words,
        )
        for channel_id, (name, sums) in channels.items()
    }
    funnels = await funnels_service.plan_funnels(
        session,
        target.plan_id,
        first,
        last,
        words,
        names={
            str(channel_id): _shown(name, words) for channel_id, (name, _sums) in channels.items()
        },
        known_at=known_at,
    )
    return Diagnosis(
        efficiency=efficiency,
        parameters=params,
        funnels=funnels,
        experiments=await experiments_service.reviews(session, target.plan_id),
        reserve=await channels_service.contingency_reserve(session, target.plan_id),
    )
