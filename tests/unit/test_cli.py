from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main
from server.settings import Settings
from tests.campaigns import CANONICAL


def test_campaign_check_accepts_the_canonical_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CANONICAL, encoding="utf-8")
    assert main(["campaign", "check", str(path)]) == 0
    assert "presale 2000, group 5000, distribution 3000" in capsys.readouterr().out


def test_campaign_check_names_every_bad_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        CANONICAL.replace("price_fen = 29800", "price_fen = 1").replace(
            "capacity = 100", "capacity = 2"
        ),
        encoding="utf-8",
    )
    assert main(["campaign", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "presale.price_fen: must equal deposit_fen + balance_fen" in err
    assert "group.capacity" in err


def test_campaign_check_on_a_missing_file(tmp_path: Path) -> None:
    assert main(["campaign", "check", str(tmp_path / "none.toml")]) == 2


def test_bad_cli_arguments_exit_with_usage() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--port", "70000"])
    assert caught.value.code == 2


def test_bad_environment_is_reported_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIVEROOM_CLOCK", "sundial")
    monkeypatch.setenv("LIVEROOM_SECRET", "s" * 32)
    monkeypatch.setenv("LIVEROOM_OPS_TOKEN", "o" * 32)
    monkeypatch.setenv("LIVEROOM_PAYMENT_SECRET", "p" * 32)
    assert main(["serve"]) == 2
    assert "LIVEROOM_CLOCK" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_production_refuses_the_published_demo_secrets(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README once printed these; tokens forged offline with them must not work."""
    monkeypatch.setenv("LIVEROOM_OPS_TOKEN", "demo-ops-token-change-me")
    monkeypatch.setenv("LIVEROOM_SECRET", "demo-viewer-secret-change-me")
    monkeypatch.setenv("LIVEROOM_PAYMENT_SECRET", "demo-payment-secret-change-me")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # never reached
    assert main([command]) == 2
    assert "published demo value" in capsys.readouterr().err


def test_liveroom_secrets_prints_fresh_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets"]) == 0
    first = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert Settings.from_env(first)
    assert main(["secrets"]) == 0
    assert (
        capsys.readouterr().out.splitlines()[0]
        != f"LIVEROOM_OPS_TOKEN={first['LIVEROOM_OPS_TOKEN']}"
    )
