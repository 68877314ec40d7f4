"""`liveroom`: serve | worker | demo | simulate | reconcile | report | migrate | secrets |
ops add-user | ops set-password | campaign check."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvicorn

from server import demo_reset, demo_secrets, logs
from server.console.accounts import Accounts
from server.domain.campaign import parse_campaign
from server.domain.roles import ROLES
from server.embedded import EmbeddedValkey, running_url
from server.errors import BadInput, InvalidCampaign
from server.gateway.routes_screens import screen_url
from server.gateway.screen_tokens import ScreenTokens
from server.ledger.engine import create_engine, ledger_url
from server.ledger.migrate import upgrade
from server.ledger.queries import finance_report
from server.ledger.reconcile import reconcile
from server.ops import statements
from server.ops.statements import STATEMENT_PROVIDERS
from server.payments.registry import alipay, wechat_pay
from server.runtime import Runtime, startup_campaign_text
from server.settings import Settings, demo_defaults
from server.sim import Shape, Simulation, SimulationStopped
from server.store.campaign_store import CampaignStore
from server.store.connection import connect
from server.store.screens import ScreenStore
from server.worker import Worker, default_worker_name

# How every gateway process is served (the benchmark's bare endpoint uses the same):
# uvloop and httptools, our own logging, no access log (a line per order in a spike), and
# no per-message deflate, which costs the feeds' fan-out ~2.6x the CPU for small snapshots.
# Websockets by uvicorn's wsproto implementation: it writes the 101 answer before `accept`
# returns, so a frame the hub then writes to the transport cannot overtake it (with the
# legacy implementation it could), and an idle connection costs the least memory of the
# three (bare, traced: wsproto 17.1 KiB, sans-I/O 19.0, legacy 27). Clients send the feeds
# nothing but pongs and a close, so wsproto's pure-Python frame parsing costs little.
# HTTP by httptools with deadlines for headers and bodies and a connection cap
# (server/gateway/protocol.py, limits from the environment), and a keep-alive that outlasts
# a load balancer's idle timeout.
UVICORN_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "server.gateway.protocol:GuardedHttpToolsProtocol",
    "ws": "wsproto",
    "log_config": None,
    "ws_per_message_deflate": False,
    "access_log": False,  # see logs.py
}


DEMO_ADMIN = "admin"  # the demo console's account; its password is the demo's own


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {**UVICORN_OPTIONS, "timeout_keep_alive": settings.edge.keepalive_s}


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
    demo.add_argument("--no-sim", action="store_true", help="serve only; no simulated broadcast")
    demo.add_argument(
        "--keep", action="store_true", help="continue the previous broadcast (default: a fresh one)"
    )
    demo.add_argument(
        "--pace", type=_pace, default=600.0, help="seconds the 15-day broadcast takes (600)"
    )
    demo.add_argument("--scale", type=_scale, default=0.5, help="broadcast size (1 = 10,000 boxes)")
    demo.set_defaults(run=_demo)

    simulate = commands.add_parser("simulate", help="run the simulated broadcast against a server")
    simulate.add_argument("--base", default="http://127.0.0.1:8000")
    simulate.add_argument("--scale", type=_scale, default=0.5)
    simulate.add_argument(
        "--pace", type=_pace, default=600.0, help="seconds the 15-day broadcast takes"
    )
    simulate.set_defaults(run=_simulate)

    worker = commands.add_parser("worker", help="the ledger worker and deadline sweeper")
    worker.set_defaults(run=_worker)

    reconcile = commands.add_parser("reconcile", help="prove Redis = ledger + unconsumed stream")
    reconcile.add_argument("--campaign", action="append", help="only these campaign ids")
    reconcile.add_argument(
        "--provider",
        choices=STATEMENT_PROVIDERS,
        help="instead: check this payment provider's daily statement against the ledger",
    )
    reconcile.add_argument("--date", type=_day, help="the statement's day, YYYY-MM-DD")
    reconcile.add_argument("--file", type=Path, help="a statement saved from the provider")
    reconcile.set_defaults(run=_reconcile)

    report = commands.add_parser("report", help="the finance report, per distributor and in total")
    report.add_argument("--campaign", default="mid-autumn")
    report.set_defaults(run=_report)

    migrate = commands.add_parser("migrate", help="bring the ledger schema up to date")
    migrate.set_defaults(run=_migrate)

    fresh = commands.add_parser("secrets", help="print fresh secrets for the environment")
    fresh.set_defaults(run=_secrets)

    ops = commands.add_parser("ops", help="the ops console's accounts")
    ops_commands = ops.add_subparsers(required=True, metavar="ACTION")
    add_user = ops_commands.add_parser(
        "add-user", help="create a console account (the password is asked for, or read from stdin)"
    )
    add_user.add_argument("username")
    add_user.add_argument("--role", required=True, choices=ROLES)
    add_user.add_argument("--name", help="the name the console shows (default: the username)")
    add_user.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    add_user.set_defaults(run=_ops_add_user)
    password = ops_commands.add_parser("set-password", help="a new password; lifts a lock-out")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    password.set_defaults(run=_ops_set_password)

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


def _serve(
    args: argparse.Namespace,
    ready: Callable[[Settings, str], None] | None = None,
    fresh: bool = False,
) -> int:
    """Run the gateway; `ready` is called once Redis is known, before serving. `fresh` (a
    new demo broadcast) forgets the previous state first."""
    settings = Settings.from_env()
    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedValkey(settings.data_dir)
        os.environ["REDIS_URL"] = embedded.start(fresh=fresh)
        embedded.watch()  # restarted (same port, same files) if it dies
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the
        # handler it found: by default that kills the process before `finally` stops Valkey.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if fresh:
            _forget_previous_broadcast(settings, os.environ["REDIS_URL"], embedded is None)
        if ready is not None:
            ready(settings, os.environ["REDIS_URL"])
        uvicorn.run(
            "server.gateway.asgi:create_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            **uvicorn_options(settings),
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _forget_previous_broadcast(settings: Settings, redis_url: str, external_redis: bool) -> None:
    demo_reset.forget_ledger(settings.data_dir, settings.database_url)
    if external_redis:
        asyncio.run(demo_reset.forget_keys(redis_url, settings.key_prefix))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _scale(value: str) -> float:
    scale = float(value)
    if not 0 < scale <= 2:
        raise argparse.ArgumentTypeError("must be > 0 and <= 2")
    return scale


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a day as YYYY-MM-DD") from None


def _pace(value: str) -> float:
    seconds = float(value)
    if not 5 <= seconds <= 86_400:
        raise argparse.ArgumentTypeError("seconds, from 5 to 86400")
    return seconds


def _demo(args: argparse.Namespace) -> int:
    # The demo's own secrets (made on its first run in this data dir); a value set in the
    # environment wins, and is never printed.
    own = demo_secrets.for_demo(args.data_dir)
    admin_password = own.pop(demo_secrets.ADMIN_PASSWORD)
    for name, value in demo_defaults(args.data_dir, own).items():
        os.environ.setdefault(name, value)
    base = f"http://{args.host}:{args.port}"
    # notices go out through the webhook channel to the sandbox receiver the gateway plays
    os.environ.setdefault("LIVEROOM_NOTIFY_URL", f"{base}/api/v1/sandbox/notify")
    os.environ.setdefault("LIVEROOM_NOTIFY_SANDBOX", "1")

    def announce(settings: Settings, redis_url: str) -> None:
        campaign_id = parse_campaign(startup_campaign_text(settings)).id
        token = asyncio.run(_mint_demo_screen(settings, redis_url, campaign_id))
        asyncio.run(_demo_admin(settings, admin_password))
        print(f"liveroom demo: big screen {base}{screen_url(campaign_id, token)}")
        print(f"               live room  {base}/live/{campaign_id}")
        print(f"               console    {base}/console/  ({DEMO_ADMIN} / {admin_password})")
        print(f"               secrets    {args.data_dir / demo_secrets.FILE} (this demo's own)")

    if not args.no_sim:  # the broadcast talks to the server like any outside client
        command = [
            sys.executable,
            "-m",
            "server",
            "simulate",
            "--base",
            base,
            "--scale",
            str(args.scale),
            "--pace",
            str(args.pace),
        ]
        subprocess.Popen(command)
    return _serve(args, announce, fresh=not args.keep)


async def _mint_demo_screen(settings: Settings, redis_url: str, campaign_id: str) -> str:
    """A screen token for the demo's big screen (a week; listed and revocable by ops)."""
    token, grant = ScreenTokens(settings.secret).mint(campaign_id, 7 * 86_400)
    redis = connect(redis_url, settings.redis_timeout_s)
    try:
        now_ms = int(time.time() * 1000)
        store = ScreenStore(redis, settings.key_prefix)
        await store.record(grant.id, campaign_id, grant.expires, "demo", now_ms)
    finally:
        await redis.aclose()
    return token


def _simulate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    shape = Shape(duration_s=args.pace).scaled(args.scale)
    sim = Simulation(
        args.base, settings.ops_token, settings.payment_secret, shape, settings.logistics_secret
    )

    async def run() -> dict[str, object]:
        await _wait_until_up(args.base)
        return await sim.run()

    try:
        report = asyncio.run(run())
    except SimulationStopped as stopped:
        print(f"simulation stopped: {stopped}", flush=True)
        print(f"simulation: {sim.tally}", flush=True)
        return 1
    print(f"simulation: {sim.tally}")
    print(f"reconcile: {report.get('summary')}")
    return 0 if report.get("clean") else 1


async def _wait_until_up(base: str, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    async with aiohttp.ClientSession(base) as session:
        while True:
            try:
                async with session.get("/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise BadInput(f"no server answered at {base}", "--base")
            await asyncio.sleep(0.5)


def _worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    return asyncio.run(_run_worker(settings, _redis_url(settings)))


async def _run_worker(settings: Settings, redis_url: str) -> int:
    redis = connect(redis_url, settings.redis_timeout_s)
    engine = create_engine(ledger_url(settings.database_url, settings.data_dir))
    runtime = Runtime(settings, redis)
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await Worker(runtime, engine, settings.worker_name or default_worker_name()).run(stop)
    finally:
        await runtime.stop()
        await engine.dispose()
        await redis.aclose()
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    settings = Settings.from_env(secrets=False)
    if args.provider:
        if args.date is None:
            raise BadInput("the statement's day is needed with --provider", "--date")
        return asyncio.run(_check_statement(settings, args.provider, args.date, args.file))
    return asyncio.run(_run_reconcile(settings, _redis_url(settings), args.campaign))


async def _check_statement(settings: Settings, provider: str, day: date, file: Path | None) -> int:
    """`liveroom reconcile --provider P --date D [--file F]`: exit 1 if anything differs."""
    engine = create_engine(ledger_url(settings.database_url, settings.data_dir))
    wechat, app = wechat_pay(settings), alipay(settings)
    try:
        if file is not None:
            bill = statements.read_bill(provider, file)
        else:
            bill = await statements.download_bill(provider, wechat, app, day)
        result = await statements.check(engine, provider, day, bill, int(time.time() * 1000))
    finally:
        if wechat is not None:
            await wechat.close()
        await engine.dispose()
    verdict = "clean" if result.clean else f"{len(result.problems)} differences"
    print(
        f"{provider} {day}: {result.lines} lines, {result.matched} matched (paid "
        f"{result.paid_fen}, refunded {result.refunded_fen}, fees {result.fees_fen} fen; "
        f"{result.other_day} booked on a neighbouring day); {verdict}"
    )
    for problem in result.problems:
        print(f"  MISMATCH {problem}")
    return 0 if result.clean else 1


async def _run_reconcile(settings: Settings, redis_url: str, only: list[str] | None) -> int:
    redis = connect(redis_url, settings.redis_timeout_s)
    engine = create_engine(ledger_url(settings.database_url, settings.data_dir))
    try:
        campaigns = CampaignStore(redis, settings.key_prefix)
        clean = True
        for campaign_id in only or await campaigns.ids():
            spaces = await campaigns.keyspaces(campaign_id)
            report = await reconcile(redis, engine, spaces)
            print(report.summary())
            for problem in report.problems:
                print(f"  MISMATCH {problem}")
            clean = clean and not report.problems
        return 0 if clean else 1
    finally:
        await engine.dispose()
        await redis.aclose()


def _report(args: argparse.Namespace) -> int:
    settings = Settings.from_env(secrets=False)

    async def run() -> dict[str, object]:
        engine = create_engine(ledger_url(settings.database_url, settings.data_dir))
        try:
            return await finance_report(engine, args.campaign)
        finally:
            await engine.dispose()

    print(orjson.dumps(asyncio.run(run()), option=orjson.OPT_INDENT_2).decode())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env(secrets=False)

    async def run() -> None:
        engine = create_engine(ledger_url(settings.database_url, settings.data_dir))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("ledger schema is up to date")
    return 0


def _redis_url(settings: Settings) -> str:
    url = settings.redis_url or running_url(settings.data_dir)
    if url is None:
        raise BadInput(
            "must be set (or a demo must be running on LIVEROOM_DATA_DIR); "
            "`liveroom demo` runs the worker inside",
            "REDIS_URL",
        )
    return url


def _secrets(args: argparse.Namespace) -> int:
    print(demo_secrets.as_env(demo_secrets.fresh()), end="")
    return 0


def _ops_add_user(args: argparse.Namespace) -> int:
    password = _new_password(args.password_stdin)

    async def add(accounts: Accounts) -> None:
        await accounts.add(args.username, args.name or args.username, args.role, password)

    _with_accounts(add)
    print(f"console account {args.username!r} ({args.role}) created")
    return 0


def _ops_set_password(args: argparse.Namespace) -> int:
    password = _new_password(args.password_stdin)

    async def change(accounts: Accounts) -> None:
        if await accounts.get(args.username) is None:
            raise BadInput(f"no console account {args.username!r}", "username")
        await accounts.change(args.username, password=password)

    _with_accounts(change)
    print(f"console account {args.username!r}: password changed")
    return 0


def _new_password(from_stdin: bool) -> str:
    """Never from the command line, where `ps` and shell history would keep it."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password (12+ characters): ")
    if getpass.getpass("again: ") != first:
        raise BadInput("the two passwords differ", "password")
    return first


def _with_accounts(action: Callable[[Accounts], Any]) -> None:
    settings = Settings.from_env(secrets=False)

    async def run() -> None:
        engine = create_engine(ledger_url(settings.database_url, settings.data_dir))
        try:
            await upgrade(engine)
            await action(Accounts(engine))
        finally:
            await engine.dispose()

    asyncio.run(run())


async def _demo_admin(settings: Settings, password: str) -> None:
    """The demo console's admin account, made once per data directory."""
    engine = create_engine(ledger_url(settings.database_url, settings.data_dir))
    try:
        await upgrade(engine)
        accounts = Accounts(engine)
        if await accounts.get(DEMO_ADMIN) is None:
            await accounts.add(DEMO_ADMIN, "演示管理员", "admin", password)
    finally:
        await engine.dispose()


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
