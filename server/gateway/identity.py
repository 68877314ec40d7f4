"""Who the caller is to the pricing and commission rules, read from the user pool."""

from __future__ import annotations

from server.domain.campaign import Campaign, MemberTier
from server.domain.commission import Attribution, attribute
from server.domain.pricing import Identity
from server.errors import BadInput
from server.store.identities import IdentityStore
from server.store.orders import OrderStore


async def identity_of(
    identities: IdentityStore, orders: OrderStore, campaign: Campaign, user: str
) -> Identity:
    """Every fact about the buyer, in one round trip shared with the tick's other orders."""
    facts = await identities.buyers.submit((user, orders.depositors_key(user)))
    tier_id = facts.user.get("member_tier") if facts.user else None
    member: MemberTier | None = next((m for m in campaign.members if m.id == tier_id), None)
    return Identity(
        member=member, distributor_code=facts.distributor_code, depositor=facts.depositor
    )


async def attribution_of(
    identities: IdentityStore,
    orders: OrderStore,
    campaign: Campaign,
    who: Identity,
    ref: str | None,
) -> Attribution:
    """Attribution follows the link the order came through; an unknown link is refused. The
    rate tier follows the units paid through the link in this campaign so far."""
    if ref is None:
        return Attribution()
    link, volume = await identities.link_and_volume(ref, orders.leaders_keys())
    if link is None:
        raise BadInput("no share link with this code", "ref", "unknown_ref")
    if link["kind"] == "distributor" and link["status"] != "active":
        return Attribution()
    upline = str(link.get("upline") or "")
    return attribute(campaign, who.distributor_code, link["kind"], ref, upline, volume)
