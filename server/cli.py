"""`liveroom`: serve | demo | campaign check."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from server import logs
from server.domain.campaign import parse_campaign
from server.embedded import EmbeddedValkey
from server.errors import BadInput, InvalidCampaign
from server.settings import Settings, demo_defaults


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.configure()
    try:
        result: int = args.run(args)
    except BadInput as exc:
        print(f"liveroom: {exc.field or 'input'}: {exc.message}", file=sys.stderr)
        return 2
    return result


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError("must be 1-65535")
    return port


def _workers(value: str) -> int:
    workers = int(value)
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError("must be 1-64")
    return workers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveroom", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gateway")
    _server_options(serve, "0.0.0.0")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser(
        "demo", help="gateway on embedded Valkey, simulated clock, demo login"
    )
    _server_options(demo, "127.0.0.1")
    demo.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    demo.set_defaults(run=_demo)

    campaign = commands.add_parser("campaign", help="campaign files")
    campaign_commands = campaign.add_subparsers(required=True, metavar="ACTION")
    check = campaign_commands.add_parser("check", help="validate a campaign file")
    check.add_argument("file", type=Path)
    check.set_defaults(run=_campaign_check)
    return parser


def _server_options(parser: argparse.ArgumentParser, host: str) -> None:
    parser.add_argument("--host", default=host)
    parser.add_argument("--port", type=_port, default=8000)
    parser.add_argument("--workers", type=_workers, default=1)


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedValkey(settings.data_dir)
        os.environ["REDIS_URL"] = embedded.start()
    try:
        uvicorn.run(
            "server.gateway.asgi:create_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            ws_per_message_deflate=False,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _demo(args: argparse.Namespace) -> int:
    for name, value in demo_defaults(args.data_dir).items():
        os.environ.setdefault(name, value)
    print(f"liveroom demo: http://{args.host}:{args.port}/api/v1/campaigns/mid-autumn/stock")
    return _serve(args)


def _campaign_check(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.file}: cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        campaign = parse_campaign(text)
    except InvalidCampaign as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem.field or '(file)'}: {problem.message}", file=sys.stderr)
        return 1
    units = campaign.pool_units()
    pools = ", ".join(f"{name} {n}" for name, n in units.items())
    print(f"{args.file}: ok: campaign {campaign.id!r}, {campaign.sku.total_units} units ({pools})")
    return 0
