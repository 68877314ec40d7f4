"""Every route of the ops console (/console)."""

from __future__ import annotations

from server.console import routes_auth, routes_campaigns

routes = [*routes_auth.routes, *routes_campaigns.routes]
