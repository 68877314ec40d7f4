"""Masking personal data for people who do not need it whole: a viewer looking at someone
else's group, a big screen's ticker, an ops list for a role without the right to see it.

Masks keep enough to tell entries apart at a glance and never enough to find the person.
"""

from __future__ import annotations


def mask_user(user_id: str) -> str:
    """ "viewer-3f9a" -> "vi***9a"; short ids keep only their first character."""
    if len(user_id) <= 4:
        return user_id[:1] + "***"
    return f"{user_id[:2]}***{user_id[-2:]}"


def mask_name(name: str) -> str:
    """A person's name: "张三丰" -> "张**" (a recipient, a distributor without a display name)."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    """ "13812345678" -> "138****5678"."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_street(street: str) -> str:
    """The street line: only its first few characters ("人民路**********")."""
    keep = min(3, len(street) // 3)
    return street[:keep] + "*" * (len(street) - keep)
