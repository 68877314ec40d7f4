"""The served /openapi.json, built from the same models that validate the wire.

Every operation is listed with its parameters, its request body, its answer and every
error answer it can give. The errors follow from what an operation is (a JSON body can be
malformed, too large or invalid; a path names something that may not exist; a viewer or
ops call needs its credentials; the order and payment calls are rate limited; anything
that reads Redis or the ledger can find it down), plus those of its own (409s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from server.domain.after_sale import MAX_PHOTOS, REASONS
from server.domain.materials import MATERIAL_ID_PATTERN, MAX_IMAGES, MAX_TEXT, MAX_TITLE
from server.gateway import schemas as s
from server.gateway.routes_after_sale import AfterSaleQuery, ApprovalIn, RejectIn
from server.gateway.routes_broadcast import MoveIn, NoticeIn
from server.gateway.routes_distribution import (
    CampaignChoice,
    CommunityIn,
    DecisionIn,
    DistributorIn,
    WithdrawalIn,
)
from server.gateway.routes_materials import CardQuery, MaterialsQuery
from server.gateway.routes_materials import DecisionIn as MaterialDecisionIn
from server.gateway.routes_members import MemberIn
from server.gateway.routes_ops_orders import OrderQuery
from server.gateway.routes_screens import ScreenTokenIn
from server.gateway.routes_sessions import HostSessionIn
from server.gateway.routes_share import PosterQuery, ShareQuery
from server.gateway.routes_visits import VisitIn

_REF = "#/components/schemas/{model}"
_KEY_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}
_PATH_PARAMETERS = {
    "cid": s.CAMPAIGN_ID_PATTERN,
    "oid": s.ORDER_ID_PATTERN,
    "pid": s.PAYMENT_ID_PATTERN,
    "code": s.GROUP_CODE_PATTERN,
    "uid": r"^[A-Za-z0-9_.-]{1,64}$",
    "id": r"^scr-[0-9a-f]{12}$",
    "wid": r"^W[0-9a-f]{16}$",
    "mode": r"^(presale|group|direct)$",
    "aid": s.ADDRESS_ID_PATTERN,
    "region": r"^[1-9]\d{5}$",
    "rid": r"^S[0-9a-f]{16}$",
    "name": r"^[1-9]\.jpg$",
    "mid": MATERIAL_ID_PATTERN,
    "image": r"^[1-9](\.thumb)?\.jpg$",
}
_IMAGES = {"type": "array", "items": {"type": "string", "format": "binary"}}
_POST_FORM = {
    "schema": {
        "type": "object",
        "properties": {
            "text": {"type": "string", "maxLength": MAX_TEXT},
            "images": _IMAGES | {"maxItems": MAX_IMAGES},
        },
    }
}
_MATERIAL_FORM = {
    "schema": {
        "type": "object",
        "required": ["campaign_id", "kind", "title"],
        "properties": {
            "campaign_id": {"type": "string", "pattern": s.CAMPAIGN_ID_PATTERN},
            "kind": {"type": "string", "enum": ["poster", "video"]},
            "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
            "text": {"type": "string", "maxLength": MAX_TEXT},
            "video_url": {"type": "string", "format": "uri", "description": "a video's https link"},
            "image": _IMAGES | {"maxItems": 1, "description": "a poster's image"},
        },
    }
}
_AFTER_SALE_FORM = {
    "schema": {
        "type": "object",
        "required": ["reason", "units"],
        "properties": {
            "reason": {
                "type": "string",
                "enum": list(REASONS),
            },
            "units": {"type": "string", "pattern": "^[1-9][0-9]{0,3}$"},
            "text": {"type": "string", "maxLength": 400},
            "photos": {
                "type": "array",
                "maxItems": MAX_PHOTOS,
                "items": {"type": "string", "format": "binary"},
            },
        },
    }
}
# Bodies that are not JSON, by Operation.body: what each is, in the document.
_TEXT_BODIES = {
    "toml": {"application/toml": {"schema": {"type": "string"}}},
    "csv": {"text/csv": {"schema": {"type": "string"}}},
    "multipart": {"multipart/form-data": _AFTER_SALE_FORM},
    "post_form": {"multipart/form-data": _POST_FORM},
    "material_form": {"multipart/form-data": _MATERIAL_FORM},
}
_DESCRIPTIONS = {
    400: "the body is not valid JSON (`bad_json`)",
    401: "no credentials, or credentials that are not valid (`unauthorized`)",
    403: "credentials without the right to this (`forbidden`, `not_eligible`, ...)",
    404: "nothing by that name (`not_found`, ...)",
    409: "the state forbids it now (`sold_out`, `window_closed`, ...)",
    413: "the body is larger than this call takes (`too_large`)",
    422: "a field is invalid; `field` names it (`invalid`, ...)",
    429: "too many requests; see Retry-After (`rate_limited`)",
    503: (
        "a backing service is down; nothing was changed (`unavailable`, `busy`); or it "
        "answered too late, so the request may have been carried out (`outcome_unknown`), or "
        "no replica confirmed the order in time (`not_replicated`): retry with the same key"
    ),
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    auth: str | None = None  # "viewer", "ops" or "signature" (the payment provider)
    body: Any = None  # a model, "toml" or "csv" (text), or None for no body
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()  # beyond those that follow from the above
    query: Any = None
    idempotent_key: bool = False
    rate_limited: bool = False
    backed: bool = True  # reads Redis or the ledger (503 when it is down)
    media_type: str = "application/json"
    also: tuple[int, ...] = ()  # other success statuses, with the same or no answer


OPERATIONS = [
    Operation(
        "post",
        "/api/v1/sessions",
        "Demo/test login: a viewer token for a user (only where demo login is on)",
        body=s.SessionIn,
        response=s.SessionOut,
        status=201,
        errors=(403,),
        idempotent_key=True,
        rate_limited=True,
    ),
    Operation(
        "post",
        "/api/v1/sessions/host",
        "A viewer vouched for by the host platform: its signed JWT for a viewer token",
        body=HostSessionIn,
        response=s.SessionOut,
        status=201,
        errors=(401, 403),
        rate_limited=True,
        backed=False,
    ),
    Operation("get", "/api/v1/clock", "Campaign time now", response=s.ClockOut, backed=False),
    Operation("get", "/api/v1/campaigns/{cid}", "The campaign as configured, phase and prices"),
    Operation(
        "get", "/api/v1/campaigns/{cid}/stock", "Stock in total and per pool", response=s.StockOut
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/quote",
        "Every price for the caller with each identity's effect, and the one that applies",
        auth="viewer",
        response=s.QuoteOut,
    ),
    Operation(
        "post",
        "/api/v1/campaigns/{cid}/orders",
        "Reserve stock and create an order awaiting payment",
        auth="viewer",
        body=s.OrderIn,
        response=s.OrderOut,
        status=201,
        errors=(403, 409),
        idempotent_key=True,
        rate_limited=True,
    ),
    Operation(
        "post",
        "/api/v1/orders/{oid}/payments",
        "Open the order's next payment stage (deposit, balance or full) with a provider",
        auth="viewer",
        body=s.PaymentIn,
        response=s.PaymentOut,
        status=201,
        errors=(409, 503),
        idempotent_key=True,
        rate_limited=True,
    ),
    Operation(
        "post",
        "/api/v1/payments/webhook",
        "The payment provider's signed notice (X-Signature); repeats are harmless",
        auth="signature",
        body=s.WebhookIn,
        response=s.WebhookOut,
        errors=(404,),
    ),
    Operation(
        "post",
        "/api/v1/payments/wechat/notify",
        "WeChat Pay's notification (Wechatpay-Signature; AES-256-GCM resource): a payment's "
        "success or a refund's result; repeats are harmless",
        response=s.WeChatNotifyOut,
        errors=(401, 404, 422),
    ),
    Operation(
        "get",
        "/api/v1/payments/qr.svg",
        "A WeChat Native payment's code_url as a QR code (only such URLs)",
        query=s.PayQrQuery,
        media_type="image/svg+xml",
        backed=False,
    ),
    Operation(
        "get",
        "/api/v1/distributors/me/payee",
        "Where the caller's payouts are sent (masked), or null",
        auth="viewer",
        response=s.MyPayeeOut,
        errors=(404,),
    ),
    Operation(
        "put",
        "/api/v1/distributors/me/payee",
        "Set where the caller's payouts are sent (WeChat openid, real name)",
        auth="viewer",
        body=s.PayeeIn,
        response=s.PayeeOut,
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/v1/distributors/me/payouts",
        "The transfers sent to the caller, newest first",
        auth="viewer",
        response=s.MyPayoutsOut,
        errors=(404,),
    ),
    Operation(
        "post",
        "/api/v1/distributors/me/payouts/{payout_id}/receipt-confirmed",
        "The caller confirmed a transfer in WeChat: it is asked about at once, not after its pause",
        auth="viewer",
        body=s.NoFields,
        response=s.PayoutSendOut,
        errors=(404, 422),
        rate_limited=True,
    ),
    Operation(
        "post",
        "/api/v1/payments/alipay/notify",
        "Alipay's trade notification (form-encoded, RSA2 `sign`); answers the word `success`",
        errors=(401, 404, 422),
        media_type="text/plain",
    ),
    Operation(
        "post",
        "/api/v1/sandbox/payments/{pid}/succeed",
        "The demo's payment provider: settle one of the caller's payments (demo only)",
        auth="viewer",
        body=s.NoFields,
        response=s.WebhookOut,
    ),
    Operation(
        "get",
        "/api/v1/me/orders",
        "Every order of the caller, all campaigns and modes, with status history",
        auth="viewer",
        response=s.MyOrdersOut,
    ),
    Operation(
        "get",
        "/api/v1/me/notifications",
        "The caller's notifications",
        auth="viewer",
        response=s.NotificationsOut,
    ),
    Operation(
        "post",
        "/api/v1/me/notifications/read",
        "Mark every notification read",
        auth="viewer",
        body=s.NoFields,
        response=s.UnreadOut,
    ),
    Operation(
        "post",
        "/api/v1/campaigns/{cid}/visits",
        "The live room opened through a share link or invite (view), or an order button "
        "pressed on that visit (click); each counts once a viewer, source and day",
        auth="viewer",
        body=VisitIn,
        response=s.VisitOut,
        rate_limited=True,
    ),
    Operation(
        "get",
        "/api/v1/me/notice-settings",
        "Whether the caller receives promotional notices",
        auth="viewer",
        response=s.NoticeSettingsOut,
    ),
    Operation(
        "put",
        "/api/v1/me/notice-settings",
        "Turn promotional notices (offers, reminders, group nudges) on or off",
        auth="viewer",
        body=s.NoticeSettingsIn,
        response=s.NoticeSettingsOut,
    ),
    Operation(
        "post",
        "/api/v1/sandbox/notify",
        "The sandbox receiver of the notice webhook (signed; only where it is on)",
        auth="signature",
        body=s.SandboxNoticeIn,
        response=s.SandboxReceiptOut,
        errors=(404,),
    ),
    Operation("get", "/api/v1/groups/{code}", "A group's progress", response=s.GroupOut),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/groups",
        "Open groups to join, those closest to their next tier first",
        response=s.GroupsOut,
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/qr.svg",
        "A QR code of a share link (ref) or a group's invite (group), as SVG",
        query=ShareQuery,
        media_type="image/svg+xml",
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/poster.png",
        "A distributor's share poster: product, price, QR code (PNG)",
        query=PosterQuery,
        media_type="image/png",
    ),
    Operation(
        "post",
        "/api/v1/distributors",
        "Become a distributor, optionally under another's code (200 if already one)",
        auth="viewer",
        body=DistributorIn,
        response=s.DistributorOut,
        status=201,
        errors=(403, 404, 409),
    ),
    Operation(
        "get",
        "/api/v1/distributors/me",
        "The caller's share link, commission by state, balance, downline, orders, withdrawals",
        auth="viewer",
        query=CampaignChoice,
        response=s.MyCommissionsOut,
        errors=(404,),
    ),
    Operation(
        "post",
        "/api/v1/distributors/me/withdrawals",
        "Ask for (part of) the settled balance: a request in ops' payout queue",
        auth="viewer",
        body=WithdrawalIn,
        response=s.WithdrawalRecordOut,
        status=201,
        errors=(404, 409),
    ),
    Operation(
        "put",
        "/api/v1/distributors/me/display-name",
        "The name the big screen's leaderboard shows for you (null: your masked id)",
        auth="viewer",
        body=s.DisplayNameIn,
        response=s.DisplayNameOut,
        errors=(404,),
    ),
    Operation(
        "put",
        "/api/v1/ops/campaigns/{cid}",
        "Upload a campaign file (TOML); 422 lists every bad field by its path",
        auth="ops",
        body="toml",
        errors=(409,),
    ),
    Operation(
        "post",
        "/api/v1/ops/campaigns/{cid}/presale-to-group",
        "Open the depositors' exclusive group offer and notify them, once (with `at`: then)",
        auth="ops",
        body=MoveIn,
        response=s.PresaleToGroupOut,
        errors=(409,),
        also=(202,),
    ),
    *(
        Operation(
            "post",
            f"/api/v1/ops/campaigns/{{cid}}/modes/{{mode}}/{verb}",
            summary,
            auth="ops",
            body=s.NoFields,
            response=s.PausedOut,
            errors=(409,),
        )
        for verb, summary in (
            ("pause", "Pause a mode at once: its orders are refused mode_paused"),
            ("resume", "Resume a paused mode"),
        )
    ),
    *(
        Operation(
            "post",
            f"/api/v1/ops/campaigns/{{cid}}/modes/{{mode}}/{verb}",
            summary,
            auth="ops",
            body=s.NoFields,
            response=s.VersionOut,
            errors=(409,),
        )
        for verb, summary in (
            ("open", "Open a mode's window now (a new version of the campaign)"),
            ("close", "Close a mode's window now (a new version of the campaign)"),
        )
    ),
    Operation(
        "post",
        "/api/v1/ops/campaigns/{cid}/notices",
        "A notice to every live room (the host's words): a banner kept as the latest",
        auth="ops",
        body=NoticeIn,
        response=s.NoticeOut,
        status=201,
    ),
    Operation(
        "delete",
        "/api/v1/ops/campaigns/{cid}/notices",
        "Take the live rooms' banner down",
        auth="ops",
        response=s.NoticeOut,
    ),
    Operation(
        "post",
        "/api/v1/ops/withdrawals/{wid}/pay",
        "Pay a withdrawal request (a payout of its amount)",
        auth="ops",
        body=DecisionIn,
        response=s.WithdrawalRecordOut,
        errors=(409,),
    ),
    Operation(
        "post",
        "/api/v1/ops/withdrawals/{wid}/reject",
        "Reject a withdrawal request, with a reason",
        auth="ops",
        body=DecisionIn,
        response=s.WithdrawalRecordOut,
        errors=(409,),
    ),
    Operation(
        "post",
        "/api/v1/ops/clock",
        "Move campaign time (simulated clock only)",
        auth="ops",
        body=s.ClockIn,
        response=s.ClockOut,
        errors=(409,),
        idempotent_key=True,
    ),
    Operation(
        "get",
        "/api/v1/ops/orders",
        "Orders from the ledger, filtered",
        auth="ops",
        query=OrderQuery,
        response=s.OpsOrdersOut,
    ),
    Operation(
        "post",
        "/api/v1/ops/orders/{oid}/refund",
        "Refund everything paid; units go back unless shipped",
        auth="ops",
        body=s.RefundIn,
        response=s.OrderOut,
        errors=(409,),
    ),
    Operation(
        "post",
        "/api/v1/ops/orders/{oid}/fulfilment",
        "Move a paid order one fulfilment step",
        auth="ops",
        body=s.FulfilmentIn,
        response=s.OrderOut,
        errors=(409,),
    ),
    Operation("get", "/api/v1/regions", "The provinces (GB/T 2260)", response=s.RegionsOut),
    Operation(
        "get",
        "/api/v1/regions/{region}",
        "The divisions one level below a province or a city",
        response=s.RegionsOut,
    ),
    Operation(
        "get",
        "/api/v1/me/addresses",
        "The caller's address book, the default first",
        auth="viewer",
        response=s.AddressesOut,
    ),
    Operation(
        "post",
        "/api/v1/me/addresses",
        "Add an address (province / city / district as GB/T 2260 codes)",
        auth="viewer",
        body=s.AddressIn,
        response=s.AddressOut,
        status=201,
        errors=(409,),
    ),
    Operation(
        "put",
        "/api/v1/me/addresses/{aid}",
        "Change an address (orders keep the one they ship to)",
        auth="viewer",
        body=s.AddressIn,
        response=s.AddressOut,
    ),
    Operation(
        "delete",
        "/api/v1/me/addresses/{aid}",
        "Remove an address from the book",
        auth="viewer",
        status=204,
    ),
    Operation(
        "post",
        "/api/v1/me/addresses/{aid}/default",
        "Make an address the default",
        auth="viewer",
        body=s.NoFields,
        status=204,
    ),
    Operation(
        "put",
        "/api/v1/orders/{oid}/address",
        "Choose where an order ships (until it is routed to a warehouse)",
        auth="viewer",
        body=s.OrderAddressIn,
        response=s.OrderOut,
        errors=(409,),
    ),
    Operation(
        "get",
        "/api/v1/ops/warehouses",
        "Each warehouse's stock, free, allocated and shipped units",
        auth="ops",
        query=s.CampaignQuery,
        response=s.WarehousesOut,
    ),
    Operation(
        "get",
        "/api/v1/ops/warehouses/{code}/pick-list",
        "A warehouse's pick list (CSV): its allocated orders and their addresses",
        auth="ops",
        query=s.CampaignQuery,
        media_type="text/csv",
    ),
    Operation(
        "post",
        "/api/v1/ops/orders/{oid}/route",
        "Override an order's warehouses (a paid or allocated order)",
        auth="ops",
        body=s.RouteIn,
        response=s.OrderOut,
        errors=(409,),
    ),
    Operation(
        "post",
        "/api/v1/orders/{oid}/after-sale",
        "Ask for after-sale on a delivered order: reason, units, text, up to six photos",
        auth="viewer",
        body="multipart",
        response=s.AfterSaleOut,
        status=201,
        errors=(409,),
    ),
    Operation(
        "get",
        "/api/v1/ops/after-sales",
        "After-sale requests of a campaign, oldest first",
        auth="ops",
        query=AfterSaleQuery,
        response=s.AfterSalesOut,
    ),
    Operation(
        "get",
        "/api/v1/ops/after-sales/{rid}/photos/{name}",
        "A photo of an after-sale request (JPEG, EXIF removed)",
        auth="ops",
        media_type="image/jpeg",
    ),
    Operation(
        "post",
        "/api/v1/ops/after-sales/{rid}/approve",
        "Refund some units or an amount; some units back in stock",
        auth="ops",
        body=ApprovalIn,
        response=s.DecisionOut,
        errors=(409,),
    ),
    Operation(
        "post",
        "/api/v1/ops/after-sales/{rid}/reject",
        "Reject an after-sale request with a reason",
        auth="ops",
        body=RejectIn,
        response=s.DecisionOut,
        errors=(409,),
    ),
    Operation(
        "post",
        "/api/v1/campaigns/{cid}/posts",
        "A buyer's 晒单 (a paid order in the campaign): text and up to nine images, for ops "
        "to moderate",
        auth="viewer",
        body="post_form",
        response=s.MyPostOut,
        status=201,
        errors=(403,),
        rate_limited=True,
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/posts/mine",
        "The caller's posts in the campaign, with where moderation left each",
        auth="viewer",
        response=s.MyPostsOut,
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/materials",
        "The material library: approved posts, ops' posters and video links, newest first",
        response=s.MaterialsOut,
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/materials/{mid}/images/{image}",
        "An approved material's image (JPEG, EXIF removed; n.thumb.jpg for lists)",
        media_type="image/jpeg",
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/materials/{mid}/card.png",
        "An approved material with the QR code of a distributor's link on it (PNG)",
        query=CardQuery,
        media_type="image/png",
    ),
    Operation(
        "post",
        "/api/v1/campaigns/{cid}/materials/{mid}/shares",
        "A distributor shares a material: counted; its link (their ref and the material) and "
        "QR code",
        auth="viewer",
        body=s.NoFields,
        response=s.ShareOut,
        status=201,
        errors=(403,),
    ),
    Operation(
        "get",
        "/api/v1/ops/materials",
        "Every material of a campaign (a status: pending for the moderation queue), with its "
        "shares, views, clicks, orders and paid orders",
        auth="ops",
        query=MaterialsQuery,
        response=s.OpsMaterialsOut,
    ),
    Operation(
        "post",
        "/api/v1/ops/materials",
        "Add ops' own material: a poster (one image) or a short video's link",
        auth="ops",
        body="material_form",
        response=s.OpsMaterialOut,
        status=201,
        errors=(404,),  # the campaign_id names no campaign
    ),
    Operation(
        "get",
        "/api/v1/ops/materials/{mid}/images/{image}",
        "Any material's image, whatever its status (for moderation)",
        auth="ops",
        media_type="image/jpeg",
    ),
    *(
        Operation(
            "post",
            f"/api/v1/ops/materials/{{mid}}/{action}",
            summary,
            auth="ops",
            body=MaterialDecisionIn,
            response=s.OpsMaterialOut,
            errors=(409,),
        )
        for action, summary in (
            ("approve", "Approve a pending post: it joins the material library"),
            ("reject", "Reject a pending post, with a reason the buyer sees"),
            ("take-down", "Take an approved material down, with a reason"),
        )
    ),
    Operation("get", "/api/v1/carriers", "The carriers orders ship with", response=s.CarriersOut),
    Operation(
        "post",
        "/api/v1/ops/shipments",
        "Ship allocated orders: a CSV of order_id, carrier, tracking_no (all rows or none)",
        auth="ops",
        query=s.CampaignQuery,
        body="csv",
        response=s.ShipmentsOut,
    ),
    Operation(
        "post",
        "/api/v1/logistics/webhook",
        "A logistics provider's event about a parcel (signed); delivered starts the after-sale",
        auth="signature",
        body=s.LogisticsIn,
        response=s.LogisticsOut,
    ),
    Operation(
        "post",
        "/api/v1/ops/communities",
        "A community share link (earns no commission)",
        auth="ops",
        body=CommunityIn,
        response=s.CommunityOut,
        status=201,
    ),
    Operation(
        "put",
        "/api/v1/ops/users/{uid}",
        "Set a user's member tier",
        auth="ops",
        body=MemberIn,
        response=s.MemberOut,
    ),
    Operation(
        "post",
        "/api/v1/ops/distributors/{code}/approve",
        "Approve a distributor recruited by approval",
        auth="ops",
        body=s.NoFields,
        response=s.DistributorOut,
    ),
    Operation(
        "post",
        "/api/v1/ops/distributors/{code}/payouts",
        "Pay a distributor their whole positive balance",
        auth="ops",
        body=s.NoFields,
        response=s.PayoutOut,
        errors=(409,),
    ),
    Operation(
        "get",
        "/api/v1/ops/reports/finance",
        "Paid, refunded, commission owed and merchant net, per distributor",
        auth="ops",
        query=s.CampaignQuery,
        response=s.FinanceOut,
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/v1/ops/reports/attribution",
        "How the modes fed each other and where buyers came from (the console's 归因 page)",
        auth="ops",
        query=s.CampaignQuery,
        response=s.AttributionOut,
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/v1/ops/reconcile",
        "Reconcile Redis with the ledger now",
        auth="ops",
        query=s.CampaignQuery,
        response=s.ReconcileOut,
        errors=(404,),
    ),
    Operation(
        "post",
        "/api/v1/ops/screen-tokens",
        "Mint a big screen's token: one campaign's dashboard feed, read-only, expiring",
        auth="ops",
        body=ScreenTokenIn,
        response=s.ScreenTokenMintedOut,
        status=201,
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/v1/ops/screen-tokens",
        "Screen tokens minted (never the tokens themselves)",
        auth="ops",
        response=s.ScreenTokensOut,
    ),
    Operation(
        "delete",
        "/api/v1/ops/screen-tokens/{id}",
        "Revoke a screen token: its screens lose their feed within seconds",
        auth="ops",
        response=s.RevokedOut,
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/trend",
        "The whole broadcast so far in equal slices of campaign time (for a big screen: "
        "its screen token)",
        query=s.TrendQuery,
        response=s.TrendOut,
        errors=(401, 404),
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/attribution",
        "How the modes feed each other, from the ledger (for a big screen: its screen token)",
        query=s.TrendQuery,
        response=s.ScreenLinksOut,
        errors=(401, 404),
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/map",
        "Paid orders by province and each warehouse's load (for a big screen: its screen token)",
        query=s.TrendQuery,
        response=s.ScreenMapOut,
        errors=(401, 404),
    ),
    Operation(
        "get",
        "/metrics",
        "Prometheus metrics: this process's edge and reconcile, the campaigns' orders, money, "
        "stream, ledger lag, warehouses and feeds",
        auth="ops",
        media_type="text/plain",
    ),
    Operation("get", "/healthz", "The process answers", response=s.StatusOut, backed=False),
    Operation("get", "/readyz", "Redis answers", response=s.StatusOut),
]


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    _schema(s.ErrorOut, schemas)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "liveroom",
            "version": "1",
            "description": "Live-room control system: the client contract of API.md. "
            "The websocket feeds (/ws/live/{cid}, /ws/dashboard/{cid}) are described in "
            "the README.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "viewer": {"type": "http", "scheme": "bearer"},
                "ops": {"type": "http", "scheme": "bearer"},
                "signature": {"type": "apiKey", "in": "header", "name": "X-Signature"},
            },
        },
    }


def error_statuses(op: Operation) -> list[int]:
    """Every error status the operation can answer."""
    found = set(op.errors)
    for model in (op.body, op.query):  # a campaign named in the body or query may not exist
        if "campaign_id" in getattr(model, "model_fields", {}):
            found.add(404)
    if op.body is not None:
        found |= {413, 422} | ({400} if op.body not in _TEXT_BODIES else set())
    if "{" in op.path:
        found.add(404)
    if op.auth == "viewer" or op.auth == "signature":
        found.add(401)
    if op.auth == "ops":
        found |= {401, 403}
    if op.query is not None:
        found.add(422)
    if op.rate_limited:
        found.add(429)
    if op.backed:
        found.add(503)
    return sorted(found)


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"summary": op.summary, "responses": {}}
    spec["parameters"] = _parameters(op)
    if op.auth:
        spec["security"] = [{op.auth: []}]
    if op.body in _TEXT_BODIES:
        spec["requestBody"] = {"required": True, "content": _TEXT_BODIES[op.body]}
    elif op.body is not None:
        spec["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _schema(op.body, schemas)}},
        }
    ok: dict[str, Any] = {"description": "success"}
    if op.media_type != "application/json":
        ok["content"] = {op.media_type: {"schema": {"type": "string", "format": "binary"}}}
    elif op.response is not None:
        ok["content"] = {"application/json": {"schema": _schema(op.response, schemas)}}
    elif "/campaigns/" in op.path:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    spec["responses"][str(op.status)] = ok
    if op.path == "/api/v1/distributors":
        spec["responses"]["200"] = ok  # already a distributor: the same answer
    for status in op.also:
        spec["responses"][str(status)] = {
            "description": "accepted",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    for status in error_statuses(op):
        spec["responses"][str(status)] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}},
        }
    return spec


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": p}}
        for name, p in _PATH_PARAMETERS.items()
        if "{" + name + "}" in op.path
    ]
    for param in params:  # a distributor's code is a share link's, not a group's
        if param["name"] == "code" and "/distributors/" in op.path:
            param["schema"]["pattern"] = s.LINK_CODE_PATTERN
        if param["name"] == "code" and "/warehouses/" in op.path:
            param["schema"]["pattern"] = s.WAREHOUSE_CODE_PATTERN
    if op.query is not None:
        schema = TypeAdapter(op.query).json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if op.idempotent_key:
        params.append(
            {"name": "Idempotency-Key", "in": "header", "required": False, "schema": _KEY_SCHEMA}
        )
    return params


def _schema(model: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(ref_template=_REF, mode="serialization")
    schemas.update(schema.pop("$defs", {}))
    name = getattr(model, "__name__", "Model")
    schemas[name] = schema
    return {"$ref": _REF.format(model=name)}
