"""The environment, read once into one frozen settings object and validated at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from server.domain.rate_limit import Rate
from server.errors import BadInput
from server.payments.alipay_config import AlipayConfig
from server.payments.wechat_config import WeChatPayConfig
from server.store.connection import cluster_nodes, is_cluster_url

_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


DURABILITIES = ("primary", "replicated")


@dataclass(frozen=True)
class EdgeLimits:
    """How long a client may take to send a request, and how many may connect at once
    (server/gateway/protocol.py enforces them)."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    # Longer than a load balancer's idle timeout (commonly 60 s), so the proxy, never the
    # gateway, closes an idle kept-alive connection: the crowd waiting for 开抢 keeps its.
    keepalive_s: float = 75.0
    max_connections: int = 30_000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EdgeLimits:
        return cls(
            header_timeout_s=_bounded(env, "LIVEROOM_HEADER_TIMEOUT_S", cls.header_timeout_s, 3600),
            body_timeout_s=_bounded(env, "LIVEROOM_BODY_TIMEOUT_S", cls.body_timeout_s, 3600),
            keepalive_s=_bounded(env, "LIVEROOM_KEEPALIVE_S", cls.keepalive_s, 86_400),
            max_connections=int(
                _bounded(env, "LIVEROOM_MAX_CONNECTIONS", cls.max_connections, 1_000_000)
            ),
        )


# Requests a second and at once, per viewer and per client address, for the calls a flood
# would aim at. An address may be a carrier's NAT with thousands of viewers behind it, so
# its limits are generous; behind a reverse proxy the address is the real client's only when
# uvicorn trusts the proxy's X-Forwarded-For (FORWARDED_ALLOW_IPS, see the README).
DEFAULT_RATE_LIMITS: dict[str, Rate] = {
    "sessions.viewer": Rate(1, 5),
    "sessions.address": Rate(20, 100),
    "orders.viewer": Rate(5, 10),
    "orders.address": Rate(500, 2000),
    "payments.viewer": Rate(5, 10),
    "payments.address": Rate(500, 2000),
    "visits.viewer": Rate(2, 20),  # a share link's views and clicks (the page sends them)
    "visits.address": Rate(500, 2000),
    "posts.viewer": Rate(0.1, 5),  # 晒单: image uploads, decoded on arrival
    "posts.address": Rate(20, 200),
    "console_login.address": Rate(1, 10),  # password guesses, on top of the account lock-out
}


# The demo's simulation and load tools play every viewer from one address: limit viewers.
DEMO_RATE_LIMITS = (
    "sessions.address=off,orders.address=off,payments.address=off,visits.address=off,"
    "posts.address=off"
)


def parse_rate_limits(text: str, name: str = "LIVEROOM_RATE_LIMITS") -> dict[str, Rate]:
    """The defaults with overrides "orders.viewer=5/10,orders.address=off,..." applied
    (requests a second / at once)."""
    rates = dict(DEFAULT_RATE_LIMITS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        if key not in rates:
            raise BadInput(f"{key!r} is not one of {', '.join(rates)}", name)
        rates[key] = _rate(value.strip(), f"{name}: {key}")
    return rates


def _rate(value: str, where: str) -> Rate:
    if value == "off":
        return Rate(0, 1)
    per_s, _, burst = value.partition("/")
    try:
        rate = Rate(float(per_s), int(burst))
    except ValueError:
        raise BadInput(f"{where}: expected <per second>/<at once> or off", where) from None
    if not (0 < rate.per_s <= 1_000_000 and 1 <= rate.burst <= 1_000_000):
        raise BadInput(f"{where}: must be > 0 and <= 1000000 a second, 1-1000000 at once", where)
    return rate


@dataclass(frozen=True)
class HostLogin:
    """How the host platform (the mini-program or app backend) vouches for a viewer: a JWT
    signed with a shared secret (HS256) or a private key whose public half is here (RS256,
    ES256), from `issuer`, for `audience`."""

    secret: str = ""
    public_key: str = ""  # PEM
    issuer: str = ""
    audience: str = "liveroom"

    @property
    def on(self) -> bool:
        return bool(self.secret or self.public_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HostLogin:
        key_file = env.get("LIVEROOM_HOST_JWT_PUBLIC_KEY_FILE") or ""
        try:
            public_key = Path(key_file).read_text("utf-8") if key_file else ""
        except OSError as exc:
            where = "LIVEROOM_HOST_JWT_PUBLIC_KEY_FILE"
            raise BadInput(f"cannot read {key_file}: {exc}", where) from None
        login = cls(
            secret=env.get("LIVEROOM_HOST_JWT_SECRET", ""),
            public_key=public_key,
            issuer=env.get("LIVEROOM_HOST_JWT_ISSUER", ""),
            audience=env.get("LIVEROOM_HOST_JWT_AUDIENCE") or "liveroom",
        )
        login.validate()
        return login

    def validate(self) -> None:
        if self.secret and self.public_key:
            raise BadInput("set a secret or a public key, not both", "LIVEROOM_HOST_JWT_SECRET")
        if self.secret and len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise BadInput(f"must be at least {MIN_SECRET_BYTES} bytes", "LIVEROOM_HOST_JWT_SECRET")
        if self.public_key and "PUBLIC KEY" not in self.public_key:
            raise BadInput("must be a PEM public key", "LIVEROOM_HOST_JWT_PUBLIC_KEY_FILE")
        if self.on and not self.issuer:
            raise BadInput("must name the host platform's issuer", "LIVEROOM_HOST_JWT_ISSUER")


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    database_url: str | None = None
    data_dir: Path = Path("var")
    campaign_file: Path | None = None
    ops_token: str = ""
    secret: str = ""
    payment_secret: str = ""
    logistics_secret: str = ""  # signs delivery events; unset: the logistics webhook is off
    clock: str = "real"
    clock_start: datetime | None = None
    clock_speed: float = 1.0
    demo_login: bool = False
    key_prefix: str = "lr"
    token_ttl_s: int = 86_400
    redis_timeout_s: float = 1.0
    # "primary": an order is answered once the primary ran its script; "replicated": once a
    # replica also has it (WAIT), so a failover cannot lose an answered order
    durability: str = "primary"
    embedded_worker: bool = False
    request_metrics: bool = True  # each HTTP request timed for /metrics (cost: performance.md)
    worker_name: str | None = None
    edge: EdgeLimits = EdgeLimits()
    rate_limits: Mapping[str, Rate] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    host_login: HostLogin = HostLogin()
    public_url: str = ""  # where viewers reach the gateway (share links, QR codes)
    notify_url: str = ""  # the outbound notice webhook; unset: notices reach inbox and page only
    notify_secret: str = ""  # signs that webhook (and is checked by the sandbox receiver)
    notify_sandbox: bool = False  # the gateway also plays the receiver, at /sandbox/notify
    # the sandbox payment provider takes the refunds of sandbox payments (the demo, tests);
    # unset, they wait for ops (the generic webhook has no refund API to send them to)
    refund_sandbox: bool = False
    wechatpay: WeChatPayConfig | None = None  # the merchant's WeChat Pay account, if any
    alipay: AlipayConfig | None = None  # the merchant's Alipay app, if any
    # what a viewer may pay with, the first the default (payments/registry.py)
    payment_providers: tuple[str, ...] = ("sandbox",)
    media_s3_bucket: str = ""  # material images in this S3-compatible bucket; unset: data dir
    media_s3_endpoint: str = ""  # a non-AWS endpoint (MinIO, OSS, COS); unset: AWS's own

    @property
    def simulated_clock(self) -> bool:
        return self.clock == "simulated"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, secrets: bool = True) -> Settings:
        """Read and validate; `secrets=False` for tools that sign nothing (reconcile)."""
        env = os.environ if env is None else env
        settings = cls(
            redis_url=env.get("REDIS_URL") or None,
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("LIVEROOM_DATA_DIR") or "var"),
            campaign_file=_path(env.get("LIVEROOM_CAMPAIGN")),
            ops_token=env.get("LIVEROOM_OPS_TOKEN", ""),
            secret=env.get("LIVEROOM_SECRET", ""),
            payment_secret=env.get("LIVEROOM_PAYMENT_SECRET", ""),
            logistics_secret=env.get("LIVEROOM_LOGISTICS_SECRET", ""),
            clock=env.get("LIVEROOM_CLOCK", "real"),
            clock_start=_datetime(env, "LIVEROOM_CLOCK_START"),
            clock_speed=_number(env, "LIVEROOM_CLOCK_SPEED", 1.0),
            demo_login=_flag(env, "LIVEROOM_DEMO_LOGIN"),
            key_prefix=env.get("LIVEROOM_KEY_PREFIX", "lr"),
            token_ttl_s=int(_number(env, "LIVEROOM_TOKEN_TTL_S", 86_400)),
            redis_timeout_s=_number(env, "LIVEROOM_REDIS_TIMEOUT_S", 1.0),
            durability=env.get("LIVEROOM_DURABILITY", "primary"),
            embedded_worker=_flag(env, "LIVEROOM_EMBED_WORKER"),
            request_metrics=_flag(env, "LIVEROOM_REQUEST_METRICS", default=True),
            worker_name=env.get("LIVEROOM_WORKER_NAME") or None,
            edge=EdgeLimits.from_env(env),
            rate_limits=parse_rate_limits(env.get("LIVEROOM_RATE_LIMITS", "")),
            host_login=HostLogin.from_env(env),
            public_url=_public_url(env.get("LIVEROOM_PUBLIC_URL", "")),
            notify_url=_url(env.get("LIVEROOM_NOTIFY_URL", ""), "LIVEROOM_NOTIFY_URL"),
            notify_secret=env.get("LIVEROOM_NOTIFY_SECRET", ""),
            notify_sandbox=_flag(env, "LIVEROOM_NOTIFY_SANDBOX"),
            refund_sandbox=_flag(env, "LIVEROOM_REFUND_SANDBOX"),
            wechatpay=WeChatPayConfig.from_env(env),
            alipay=AlipayConfig.from_env(env),
            payment_providers=_providers(env),
            media_s3_bucket=_bucket(env.get("LIVEROOM_MEDIA_S3_BUCKET", "")),
            media_s3_endpoint=_url(
                env.get("LIVEROOM_MEDIA_S3_ENDPOINT", ""), "LIVEROOM_MEDIA_S3_ENDPOINT"
            ),
        )
        settings.validate(secrets=secrets)
        return settings

    def validate(self, *, secrets: bool = True) -> None:
        if self.clock not in ("real", "simulated"):
            raise BadInput("must be 'real' or 'simulated'", "LIVEROOM_CLOCK")
        if self.worker_name is not None and not _PREFIX_RE.fullmatch(self.worker_name):
            raise BadInput("1-32 letters, digits, '_' or '-'", "LIVEROOM_WORKER_NAME")
        if not _PREFIX_RE.fullmatch(self.key_prefix):
            raise BadInput("1-32 letters, digits, '_' or '-'", "LIVEROOM_KEY_PREFIX")
        if not 0 < self.clock_speed <= 1_000_000:
            raise BadInput("must be > 0 and <= 1000000", "LIVEROOM_CLOCK_SPEED")
        if self.token_ttl_s <= 0:
            raise BadInput("must be positive", "LIVEROOM_TOKEN_TTL_S")
        if not 0 < self.redis_timeout_s <= 60:
            raise BadInput("must be > 0 and <= 60 seconds", "LIVEROOM_REDIS_TIMEOUT_S")
        if self.demo_login and not self.simulated_clock:
            raise BadInput(
                "demo login is for the demo and tests: it needs LIVEROOM_CLOCK=simulated",
                "LIVEROOM_DEMO_LOGIN",
            )
        self._validate_redis()
        self._validate_providers()
        if secrets:
            check_secrets(
                {
                    "LIVEROOM_SECRET": self.secret,
                    "LIVEROOM_OPS_TOKEN": self.ops_token,
                    "LIVEROOM_PAYMENT_SECRET": self.payment_secret,
                    **(
                        {"LIVEROOM_LOGISTICS_SECRET": self.logistics_secret}
                        if self.logistics_secret
                        else {}
                    ),
                    **(
                        {"LIVEROOM_NOTIFY_SECRET": self.notify_secret}
                        if self.notify_url or self.notify_sandbox or self.notify_secret
                        else {}
                    ),
                }
            )

    def _validate_redis(self) -> None:
        if self.durability not in DURABILITIES:
            raise BadInput("must be 'primary' or 'replicated'", "LIVEROOM_DURABILITY")
        if self.durability == "replicated" and self.redis_url is None:
            raise BadInput(
                "needs REDIS_URL: the embedded Valkey has no replica to wait for",
                "LIVEROOM_DURABILITY",
            )
        if self.redis_url is not None and is_cluster_url(self.redis_url):
            cluster_nodes(self.redis_url)  # names what is wrong with REDIS_URL

    def _validate_providers(self) -> None:
        for name in self.payment_providers:
            if name not in KNOWN_PROVIDERS:
                known = ", ".join(KNOWN_PROVIDERS)
                raise BadInput(f"unknown provider {name!r} (known: {known})", _PROVIDERS_VAR)
        if not self.payment_providers:
            raise BadInput("must name at least one provider", _PROVIDERS_VAR)
        if "wechat" in self.payment_providers and self.wechatpay is None:
            raise BadInput("wechat needs LIVEROOM_WECHATPAY_MCHID and the rest", _PROVIDERS_VAR)
        if "alipay" in self.payment_providers and self.alipay is None:
            raise BadInput("alipay needs LIVEROOM_ALIPAY_APPID and the rest", _PROVIDERS_VAR)
        if (self.wechatpay or self.alipay) and not self.public_url:
            raise BadInput("the payment providers notify the gateway here", "LIVEROOM_PUBLIC_URL")


MIN_SECRET_BYTES = 32
# Values printed in this project's README before demo secrets were generated: anyone can
# forge tokens with them, so no process may start with one.
PUBLISHED_DEMO_SECRETS = frozenset(
    {"demo-ops-token-change-me", "demo-viewer-secret-change-me", "demo-payment-secret-change-me"}
)


def check_secrets(secrets: Mapping[str, str]) -> None:
    """Each secret set, at least 32 bytes, never a published value, each different."""
    seen: dict[str, str] = {}
    for name, value in secrets.items():
        if not value:
            raise BadInput("must be set (`liveroom secrets` prints fresh ones)", name)
        if value in PUBLISHED_DEMO_SECRETS:
            raise BadInput("is a published demo value; `liveroom secrets` prints fresh ones", name)
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise BadInput(f"must be at least {MIN_SECRET_BYTES} bytes", name)
        if value in seen:
            raise BadInput(f"must differ from {seen[value]}", name)
        seen[value] = name


def demo_defaults(data_dir: Path, secrets: Mapping[str, str]) -> dict[str, str]:
    """Environment for `liveroom demo`: simulated clock, demo login, the demo's own secrets."""
    return {
        "LIVEROOM_DATA_DIR": str(data_dir),
        "LIVEROOM_CLOCK": "simulated",
        "LIVEROOM_DEMO_LOGIN": "1",
        "LIVEROOM_EMBED_WORKER": "1",
        "LIVEROOM_REFUND_SANDBOX": "1",
        "LIVEROOM_RATE_LIMITS": DEMO_RATE_LIMITS,
        **secrets,
    }


KNOWN_PROVIDERS = ("sandbox", "wechat", "alipay")
_PROVIDERS_VAR = "LIVEROOM_PAYMENT_PROVIDERS"


def _providers(env: Mapping[str, str]) -> tuple[str, ...]:
    """The named providers; else those configured (WeChat Pay first), else the sandbox."""
    named = tuple(p.strip() for p in env.get(_PROVIDERS_VAR, "").split(",") if p.strip())
    if len(set(named)) != len(named):
        raise BadInput("names a provider twice", _PROVIDERS_VAR)
    if named:
        return named
    configured = ("wechat",) * bool(env.get("LIVEROOM_WECHATPAY_MCHID")) + ("alipay",) * bool(
        env.get("LIVEROOM_ALIPAY_APPID")
    )
    return configured or ("sandbox",)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadInput("must be 1/0, true/false, yes/no or on/off", name)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise BadInput(f"must be a number, got {value!r}", name) from None


def _bounded(env: Mapping[str, str], name: str, default: float, most: float) -> float:
    value = _number(env, name, default)
    if not 0 < value <= most:
        raise BadInput(f"must be > 0 and <= {most:g}", name)
    return value


def _public_url(value: str) -> str:
    return _url(value, "LIVEROOM_PUBLIC_URL").rstrip("/")


def _url(value: str, name: str) -> str:
    if value and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s?#]*)?", value):
        raise BadInput("must be an http(s) URL without query", name)
    return value


def _bucket(value: str) -> str:
    if value and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise BadInput("must be an S3 bucket name", "LIVEROOM_MEDIA_S3_BUCKET")
    return value


def _datetime(env: Mapping[str, str], name: str) -> datetime | None:
    value = env.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"must be ISO 8601 with offset, got {value!r}", name) from None
    if moment.tzinfo is None:
        raise BadInput("must carry a UTC offset", name)
    return moment
