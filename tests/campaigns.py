"""Campaign files for tests: the canonical one, resized."""

from __future__ import annotations

import re
from pathlib import Path

from server.domain.campaign_file import with_total_units
from server.runtime import canonical_campaign_text

CANONICAL = canonical_campaign_text()


def campaign_text(
    total_units: int = 10_000,
    group_floor_on_distribution: int = 1000,
    distribution_floor_on_group: int = 2000,
    campaign_id: str = "mid-autumn",
) -> str:
    """The canonical campaign with another size and other borrowing floors."""
    text = with_total_units(CANONICAL, total_units)
    text = text.replace("floor = 1000 ", f"floor = {group_floor_on_distribution} ")
    text = re.sub(r"floor = 2000\b", f"floor = {distribution_floor_on_group}", text)
    return text.replace('id = "mid-autumn"', f'id = "{campaign_id}"')


def write_campaign(directory: Path, text: str) -> Path:
    path = directory / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def manual_offer(text: str) -> str:
    """The campaign with its depositor offer opened only by the desk, never on time."""
    changed = text.replace("open_depositor_offer = true", "open_depositor_offer = false")
    assert changed != text
    return changed


def with_notifications(text: str, **values: int) -> str:
    """The campaign with other [notifications] numbers (e.g. promotions_per_hour=1)."""
    for name, value in values.items():
        text, found = re.subn(rf"^{name} = \S+", f"{name} = {value}", text, flags=re.MULTILINE)
        assert found == 1, name
    return text
