"""The attribution report with the names people know its sources by (the console, its CSV
export and the big screen share it)."""

from __future__ import annotations

from server.domain.attribution import Report
from server.errors import NotFound
from server.gateway.context import Gateway
from server.i18n import t
from server.ledger.attribution_queries import report
from server.runtime import LiveCampaign


async def labelled(gw: Gateway, live: LiveCampaign) -> tuple[Report, dict[str, str]]:
    """The campaign's report, and a display name for each of its sources."""
    found = await report(gw.ledger, live.campaign.id)
    return found, {f.source: await source_name(gw, f.source) for f in found.sources}


async def source_name(gw: Gateway, source: str) -> str:
    """What people call a touch: a distributor's name, a community's, a material's title."""
    kind, _, code = source.partition(":")
    if kind == "group":
        return t("attribution.group_invite", code=code)
    if kind == "material":
        try:
            found = await gw.library.find(code)
        except NotFound:
            return code
        return t("attribution.material", title=found["title"] or found["text"][:16] or code)
    if code.startswith("D"):
        return await gw.identities.display_name(code) or t("attribution.distributor", code=code)
    link = await gw.identities.link(code)
    return str(link.get("name") or code) if link else code
