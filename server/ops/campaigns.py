"""Publishing a campaign: validated, its answer built before anything is stored, then its
pools and file installed in one step, the version kept, and the change audited."""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from server.domain.campaign import Campaign, parse_campaign
from server.errors import BadInput, NotFound
from server.gateway.context import Gateway
from server.gateway.views import campaign_view
from server.ops.audit import Actor
from server.runtime import LiveCampaign

MAX_DIFF = 20_000  # characters of a publication's diff kept in the audit log


async def publish(gw: Gateway, actor: Actor, text: str, campaign_id: str) -> LiveCampaign:
    campaign = parse_campaign(text)
    if campaign.id != campaign_id:
        raise BadInput(f"the file's id must be {campaign_id!r}, the campaign in the URL", "id")
    orjson.dumps(campaign_view(campaign, 0, gw.runtime.clock.now()))  # it must answer
    before = await current_text(gw, campaign.id)
    live = await gw.runtime.install(campaign, text)
    await gw.audit.record(
        actor,
        "campaign.publish",
        campaign.id,
        {"version": live.version - 1} if before else None,
        {"version": live.version, "diff": diff(before or "", text)[:MAX_DIFF]},
    )
    return live


async def rollback(gw: Gateway, actor: Actor, campaign_id: str, version: int) -> LiveCampaign:
    """Publish an earlier version again (as a new version; the stock lock still applies)."""
    text = await gw.runtime.campaign_version(campaign_id, version)
    if text is None:
        raise NotFound("no such version", "version")
    live = await publish(gw, actor, text, campaign_id)
    await gw.audit.record(actor, "campaign.rollback", campaign_id, None, {"to": version})
    return live


async def current_text(gw: Gateway, campaign_id: str) -> str | None:
    live = gw.runtime.campaigns.get(campaign_id)
    if live is None:
        return None
    return await gw.runtime.campaign_version(campaign_id, live.version)


def diff(before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "running", "new", lineterm="", n=1
    )
    return "\n".join(lines)


def answer(gw: Gateway, campaign: Campaign, version: int) -> dict[str, Any]:
    return campaign_view(campaign, version, gw.runtime.clock.now())
