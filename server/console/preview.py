"""What the campaign editor previews beside the form, from a campaign that passed its check:
the pool split, the phase timeline, and the quote a sample buyer would get at a moment.

Pure: the quotes come from `pricing.quote`, the same function the quote API answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.campaign import Campaign
from server.domain.pricing import ANONYMOUS, Identity, Quote, quote


@dataclass(frozen=True)
class PoolShare:
    name: str
    kind: str
    modes: tuple[str, ...]
    share_pct: int
    units: int
    borrows: tuple[tuple[str, int], ...]  # (from pool, floor it keeps)
    returns_to: str | None
    returns_at: datetime | None


def pool_split(campaign: Campaign) -> list[PoolShare]:
    units = campaign.pool_units()
    return [
        PoolShare(
            p.name,
            p.kind,
            tuple(p.modes),
            p.share_pct,
            units[p.name],
            tuple((b.lender, b.floor) for b in p.borrow),
            p.returns_to,
            campaign.return_time(p),
        )
        for p in campaign.stock.pools
    ]


@dataclass(frozen=True)
class Span:
    """One bar of the timeline: a window (start to end) or a moment (end None)."""

    key: str  # the catalogue's name for it under [console]
    start: datetime
    end: datetime | None


def timeline(campaign: Campaign) -> list[Span]:
    spans = [
        Span(f"window_{m}", campaign.window(m).opens_at, campaign.window(m).closes_at)
        for m in campaign.modes
    ]
    if campaign.presale is not None:
        spans.append(
            Span(
                "window_balance",
                campaign.presale.balance_opens_at,
                campaign.presale.balance_closes_at,
            )
        )
    if campaign.depositor_group is not None:
        spans.append(Span("moment_offer", campaign.depositor_group.opens_at, None))
    for pool in campaign.stock.pools:
        at = campaign.return_time(pool)
        if at is not None:
            spans.append(Span("moment_return", at, None))
    return sorted(spans, key=lambda s: (s.start, s.end is None))


def span_range(spans: list[Span]) -> tuple[datetime, datetime]:
    start = min(s.start for s in spans)
    end = max(s.end or s.start for s in spans)
    return start, end


def moments(campaign: Campaign) -> list[datetime]:
    """The moments worth previewing a quote at: each window's opening, in order."""
    found = {campaign.window(m).opens_at for m in campaign.modes}
    if campaign.depositor_group is not None:
        found.add(campaign.depositor_group.opens_at)
    return sorted(found)


@dataclass(frozen=True)
class Sample:
    key: str  # the catalogue's name for this buyer under [console]
    who: Identity


def sample_buyers(campaign: Campaign) -> list[Sample]:
    """A new viewer, the first member tier, a depositor, a distributor (where the campaign
    has each)."""
    samples = [Sample("buyer_new", ANONYMOUS)]
    if campaign.members:
        samples.append(Sample("buyer_member", Identity(member=campaign.members[0])))
    if campaign.presale is not None:
        samples.append(Sample("buyer_depositor", Identity(depositor=True)))
    if campaign.distribution is not None:
        samples.append(Sample("buyer_distributor", Identity(distributor_code="DSAMPLE2")))
    return samples


def sample_quotes(campaign: Campaign, at: datetime) -> list[tuple[Sample, Quote]]:
    """Each sample buyer's quote at `at`, the depositor offer taken as opened once its time
    has come (ops open it with one action at the start of group buying)."""
    offer = campaign.depositor_group
    offer_open = offer is not None and at >= offer.opens_at
    return [(s, quote(campaign, s.who, at, offer_open)) for s in sample_buyers(campaign)]
