"""Every route of the ops console (/console)."""

from __future__ import annotations

from server.console import (
    routes_after_sale,
    routes_attribution,
    routes_auth,
    routes_campaigns,
    routes_desk,
    routes_distributors,
    routes_finance,
    routes_materials,
    routes_notices,
    routes_orders,
    routes_people,
    routes_warehouses,
)

routes = [
    *routes_auth.routes,
    *routes_campaigns.routes,
    *routes_desk.routes,
    *routes_orders.routes,
    *routes_warehouses.routes,
    *routes_after_sale.routes,
    *routes_attribution.routes,
    *routes_materials.routes,
    *routes_notices.routes,
    *routes_distributors.routes,
    *routes_finance.routes,
    *routes_people.routes,
]
