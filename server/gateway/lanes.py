"""The gateway's app: Starlette, with its two lanes served before the middleware stack.

- The live feeds (server/gateway/feed_lane.py): a feed connection stays open all broadcast,
  and every layer it passed through would keep its frames alive as long.
- The order POSTs (server/gateway/order_lane.py): the 开抢 spike is nearly all orders, and
  each layer (the app's call, the error middleware's wrapper of every message sent) costs
  the spike's every request again.

Both keep what Starlette does for them: `scope["app"]` is the app, where the endpoints find
the gateway. Everything else goes through the middleware stack and the router as usual.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from server.gateway.feed_lane import feed_of, serve_feed
from server.gateway.order_lane import order_campaign, serve_order


class GatewayApp(Starlette):
    order_lane = True  # False: orders go through the router (a test compares the two)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        feed = feed_of(scope)
        if feed is not None:
            scope["app"] = self
            await serve_feed(scope, receive, send, *feed)
            return
        campaign_id = order_campaign(scope) if self.order_lane else None
        if campaign_id is not None:
            scope["app"] = self
            await serve_order(self.state.gateway, scope, receive, send, campaign_id)
            return
        await super().__call__(scope, receive, send)
