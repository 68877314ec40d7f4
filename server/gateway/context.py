"""What every route reaches through `request.app.state`: one Gateway object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.websockets import WebSocket

from server.console.accounts import Accounts
from server.console.sessions import Sessions
from server.feeds.hub import Hubs
from server.gateway.auth import ViewerTokens, bearer, require_ops
from server.gateway.bodies import BodyGate
from server.gateway.host_login import HostAssertions
from server.gateway.idempotency import IdempotencyStore
from server.gateway.rate_limits import RateLimits
from server.gateway.screen_tokens import ScreenTokens
from server.growth.library import Library
from server.growth.media import MediaStore
from server.ops.audit import Audit
from server.payments.alipay import Alipay
from server.payments.wechat import WeChatPay
from server.runtime import Runtime
from server.settings import Settings
from server.store.identities import IdentityStore
from server.store.screens import ScreenStore


@dataclass
class Gateway:
    settings: Settings
    runtime: Runtime
    tokens: ViewerTokens
    idempotency: IdempotencyStore
    ledger: AsyncEngine
    identities: IdentityStore
    hubs: Hubs
    screen_tokens: ScreenTokens
    screens: ScreenStore
    rate_limits: RateLimits
    host_assertions: HostAssertions
    audit: Audit
    accounts: Accounts
    sessions: Sessions
    library: Library
    media: MediaStore
    wechatpay: WeChatPay | None = None  # where the merchant takes WeChat Pay
    alipay: Alipay | None = None  # where the merchant takes Alipay
    bodies: BodyGate = field(default_factory=BodyGate)
    # what the big screens' slower panels last read from the ledger: campaign -> (when, it)
    screen_cache: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def viewer(self, headers: Headers) -> str:
        return self.tokens.user(bearer(headers))

    def require_ops(self, request: Request) -> None:
        require_ops(request.headers, self.settings.ops_token)


def gateway(request: Request | WebSocket) -> Gateway:
    gw = request.app.state.gateway
    assert isinstance(gw, Gateway)
    return gw
