"""Facts worded for people, from the zh-CN catalogue: a quote's effects and the identity
line the seed describes ("黑金会员95折 · 分销员赚15% · 团购价¥308")."""

from __future__ import annotations

from server.domain.pricing import Effect, Quote
from server.i18n import t, yuan


def zhe(discount_bp: int) -> str:
    """A discount as the Chinese 折: 500 bp -> "95", 1000 -> "9", 1150 -> "88.5"."""
    tenths = (10_000 - discount_bp) / 100  # the price as a percentage of the full one
    text = f"{tenths:g}"
    return text[:-1] if text.endswith("0") and "." not in text else text


def effect_text(effect: Effect) -> str:
    if effect.kind == "member_discount":
        return t("live.identity_member", tier=effect.tier, discount=zhe(effect.discount_bp))
    if effect.kind == "group_tier":
        return t("live.effect_group_tier", n=effect.min_members, price=yuan(effect.price_fen))
    if effect.kind == "depositors_only":
        return t("live.effect_depositors_only")
    key = "live.identity_distributor_own" if effect.own_link else "live.identity_distributor"
    return t(key, rate=f"{effect.rate_bp / 100:g}")


def identity_line(quote: Quote) -> list[str]:
    """Each identity's effect, then the best group price: what the viewer is, in one line."""
    line: list[str] = []
    for option in quote.options:
        for effect in option.effects:
            text = effect_text(effect)
            if effect.kind == "member_discount" and text not in line:
                line.append(text)
    if quote.distributor_effect is not None:
        line.append(effect_text(quote.distributor_effect))
    groups = [o for o in quote.options if o.offer == "group"]
    if groups:
        best = min(groups, key=lambda o: o.unit_price_fen)
        line.append(t("live.identity_group", price=yuan(best.unit_price_fen)))
    if any(o.offer == "depositor_group" for o in quote.options):
        offer = next(o for o in quote.options if o.offer == "depositor_group")
        line.append(t("live.identity_depositor", price=yuan(offer.unit_price_fen)))
    return line
