"""The zh-CN catalogue has a Chinese sentence for every error code the server can answer:
found by reading the server's source, so a new code without one fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from server.errors import LiveroomError
from server.i18n import catalogue, t, yuan

SERVER = Path(__file__).resolve().parents[2] / "server"
LUA = Path(__file__).resolve().parents[2] / "lua"
_ERRORS = {"BadInput", "Unauthorized", "Forbidden", "NotFound", "Conflict", "Unavailable"}
_CODE = re.compile(r"[a-z][a-z_]+")


def _codes_in_python() -> set[str]:
    codes: set[str] = set()
    for path in SERVER.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):  # `code = "..."` on an error class
                for item in node.body:
                    if (
                        isinstance(item, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in item.targets)
                        and isinstance(item.value, ast.Constant)
                    ):
                        codes.add(str(item.value.value))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in _ERRORS:
                if len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
                    codes.add(str(node.args[2].value))
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        codes.add(str(keyword.value.value))
    return {c for c in codes if _CODE.fullmatch(c)}


def _refusals() -> set[str]:
    """Codes the scripts answer that the gateway passes on as errors (order_intake's table)."""
    from server.gateway.order_intake import _REFUSALS
    from server.gateway.routes_payments import _OPEN_REFUSALS

    return set(_REFUSALS) | {code for *_, code in _OPEN_REFUSALS.values()}


def test_every_error_code_has_a_chinese_sentence() -> None:
    codes = _codes_in_python() | _refusals() | {LiveroomError.code}
    assert len(codes) > 30, codes
    missing = sorted(code for code in codes if code not in catalogue()["errors"])
    assert not missing, f"no zh-CN sentence for: {missing}"


def test_every_message_is_chinese() -> None:
    """No English sentence hides in the catalogue: each message has a CJK character."""
    cjk = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
    english = [
        f"{section}.{name}"
        for section, messages in catalogue().items()
        for name, text in messages.items()
        if not cjk.search(text)
    ]
    assert not english, english


def test_messages_fill_their_placeholders() -> None:
    assert t("live.pay_deposit", amount=yuan(5000)) == "付定金 ¥50"
    assert t("live.stock_left", n=12) == "剩余 12 盒"
    assert yuan(29850) == "298.50" and yuan(28800) == "288" and yuan(5) == "0.05"
