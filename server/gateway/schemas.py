"""Wire shapes: request bodies (validated by pydantic) and responses (TypedDicts)."""

from __future__ import annotations

from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,  # pydantic needs these on Python < 3.12
)

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from server.domain.campaign import Mode

CAMPAIGN_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
GROUP_CODE_PATTERN = r"^[A-Z0-9]{4,16}$"
LINK_CODE_PATTERN = r"^[DC][A-Z2-9]{7}$"  # a share link: D... a distributor, C... a community
REF_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# "<keyspace>.<n>" and "<keyspace>~<token>": a campaign's id, "@<n>" after it in a stock bucket
ORDER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}(@[0-9]{1,6})?\.[0-9]{1,12}$"
PAYMENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}(@[0-9]{1,6})?~[0-9a-f]{16}$"
MAX_QTY = 100


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoFields(StrictBody):
    """A call that takes no fields (an empty body or {})."""


class SessionIn(StrictBody):
    user_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class OrderIn(StrictBody):
    mode: Mode
    qty: Annotated[int, Field(ge=1, le=MAX_QTY)]
    group_code: Annotated[str, Field(pattern=GROUP_CODE_PATTERN)] | None = None
    open_group: bool | None = None
    ref: Annotated[str, Field(pattern=REF_PATTERN)] | None = None
    offer: Literal["depositor_group"] | None = None


class ClockIn(StrictBody):
    advance_s: Annotated[float, Field(gt=0, le=90 * 86_400)] | None = None
    set: AwareDatetime | None = None
    speed: Annotated[float, Field(gt=0, le=1_000_000)] | None = None


class PaymentIn(StrictBody):
    """Which provider to pay with (one the deployment offers; its first when absent), and
    for WeChat Pay inside WeChat, the viewer's openid under the merchant's AppID."""

    provider: Literal["sandbox", "wechat", "alipay"] | None = None
    openid: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_-]{6,128}$")] = None


class PayQrQuery(StrictBody):
    url: Annotated[str, Field(pattern=r"^weixin://wxpay/bizpayurl\?pr=[A-Za-z0-9_-]{1,64}$")]


class PayeeIn(StrictBody):
    """Where payouts go: WeChat Pay to the distributor's openid under the merchant's AppID,
    with their real name (WeChat checks it from ¥2,000 a transfer)."""

    provider: Annotated[str, Field(max_length=16)]
    account: Annotated[str, Field(max_length=128)]
    name: Annotated[str, Field(max_length=30)] = ""


class WebhookIn(StrictBody):
    payment_id: Annotated[str, Field(pattern=PAYMENT_ID_PATTERN)]
    amount_fen: Annotated[int, Field(ge=0, le=10_000_000_000)]
    status: Literal["succeeded", "failed"]


class CampaignQuery(StrictBody):
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)]


class RefundIn(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class FulfilmentIn(StrictBody):
    status: Literal["allocated", "shipped", "delivered"]
    warehouse: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None


class ProblemOut(TypedDict):
    field: str | None
    message: str
    line: NotRequired[int]  # an uploaded file's line (the heading is line 1)
    error: NotRequired[str]  # its code, for the catalogue


class ErrorOut(TypedDict):
    error: str
    message: str
    field: str | None
    problems: NotRequired[list[ProblemOut]]  # an invalid campaign file: every problem


class SessionOut(TypedDict):
    token: str
    expires_at: str
    user_id: str


class StatusChange(TypedDict):
    status: str
    at: str


class RoutePartOut(TypedDict):
    warehouse: str
    units: int


class LogisticsEventOut(TypedDict):
    status: str
    at: str
    text: str


class ShipmentOut(TypedDict):
    carrier: str
    tracking_no: str
    shipped_at: str
    latest: LogisticsEventOut | None  # the provider's newest event


class OrderOut(TypedDict):
    order_id: str
    campaign_id: str
    status: str
    mode: str
    qty: int
    unit_price_fen: int
    amount_due_fen: int
    paid_fen: int
    refunded_fen: int
    pay_before: str
    created_at: str
    group_code: str | None
    ref: str | None
    warehouse: str | None
    address_id: str | None
    route: list[RoutePartOut] | None  # the warehouses its units ship from, once routed
    shipment: ShipmentOut | None  # once shipped
    after_sale: AfterSaleStateOut
    history: list[StatusChange]


class NextPaymentOut(TypedDict):
    stage: Literal["deposit", "balance", "full"]
    amount_fen: int
    payable_now: bool
    opens_at: str | None
    due_before: str


class MyOrderOut(OrderOut):
    next_payment: NextPaymentOut | None  # what a pay button must say, or nothing to pay


class PaymentOut(TypedDict):
    payment_id: str
    order_id: str
    stage: str
    amount_fen: int
    status: str
    provider: str  # sandbox | wechat | alipay
    # what the page needs to pay at the provider: WeChat's JSAPI parameters (kind "jsapi"),
    # a Native QR code's URL (kind "native"), Alipay's cashier (kind "wap", its url);
    # absent for the sandbox
    checkout: NotRequired[dict[str, str]]


class GroupOut(TypedDict):
    code: str
    campaign_id: str
    status: str
    leader: str
    members: int
    paid: int
    capacity: int
    expires_at: str
    tier_min_members: int | None
    price_fen: int
    next_tier_min_members: int | None  # the next cheaper tier's headcount, if any
    next_tier_price_fen: int | None
    invite_link: str


class GroupsOut(TypedDict):
    groups: list[GroupOut]


class PoolOut(TypedDict):
    kind: str
    modes: list[str]
    quota: int
    remaining: int
    reserved: int
    sold: int
    borrowed: int
    lent: int
    moved_in: int
    moved_out: int
    returned_to: str | None


class PoolClassOut(TypedDict):
    units: int
    pools: list[str]


class StockOut(TypedDict):
    campaign_id: str
    total: int
    remaining: int
    reserve: PoolClassOut
    shared: PoolClassOut
    pools: dict[str, PoolOut]


class ClockOut(TypedDict):
    now: str
    simulated: bool
    speed: float


CampaignOut = dict[str, Any]


class IdentitiesOut(TypedDict):
    member_tier: str | None
    distributor_code: str | None
    depositor: bool


class OptionOut(TypedDict):
    offer: str
    mode: str
    unit_price_fen: int
    due_now_fen: int
    open: bool
    effects: list[str]


class QuoteOut(TypedDict):
    campaign_id: str
    identities: IdentitiesOut
    options: list[OptionOut]
    applies: OptionOut | None
    distributor_effect: str | None
    identity_line: list[str]  # each identity's effect, worded: "黑金会员95折", "分销员赚15%", ...


class MyOrdersOut(TypedDict):
    user_id: str
    orders: list[MyOrderOut]


class NotificationOut(TypedDict):
    kind: str
    text: str
    at_ms: int
    campaign_id: str
    read: bool


class NotificationsOut(TypedDict):
    notifications: list[NotificationOut]
    unread: int
    tag: str  # the caller's tag in the live feed's "inbox" messages: a new notice is theirs


class NoticeSettingsIn(StrictBody):
    promotions: bool  # offers, balance reminders, group nudges; off: none of them is sent


class NoticeSettingsOut(TypedDict):
    promotions: bool


class SandboxNoticeIn(StrictBody):
    """What the notice webhook sends (server/notify/channels.py)."""

    id: Annotated[str, Field(min_length=1, max_length=240)]
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)]
    user: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Annotated[str, Field(min_length=1, max_length=24)]
    text: Annotated[str, Field(min_length=1, max_length=400)]
    at_ms: Annotated[int, Field(ge=0)]


class SandboxReceiptOut(TypedDict):
    duplicate: bool


class VisitOut(TypedDict):
    source: str  # "ref:<code>" or "group:<code>"
    counted: bool  # false: this viewer's visit of this kind was counted already today


class WebhookOut(TypedDict):
    result: Literal["succeeded", "failed", "refunded", "duplicate"]
    payment: PaymentOut


class WeChatNotifyOut(TypedDict):
    result: str  # a payment's outcome as the webhook's, or a refund's state
    payment: NotRequired[PaymentOut]


class PayeeOut(TypedDict):
    provider: str
    account: str  # masked
    name: str  # masked


class MyPayeeOut(TypedDict):
    payee: PayeeOut | None


class ConfirmRequestOut(TypedDict):
    """WeixinJSBridge.invoke("requestMerchantTransfer", this): the payee confirms receipt."""

    mchId: str
    appId: str
    package: str


class PayoutSendOut(TypedDict):
    payout_id: str
    amount_fen: int
    sent_at_ms: int
    state: str  # pending | processing | succeeded | refused (given back to the balance)
    detail: str | None
    reason: str | None  # a refused one's, for its payee: name, account, quota, merchant, ...
    confirm: str | None
    confirm_request: ConfirmRequestOut | None


class MyPayoutsOut(TypedDict):
    payouts: list[PayoutSendOut]


class DistributorOut(TypedDict):
    code: str
    status: str
    upline: str | None
    campaign_id: str  # the campaign the share link points at
    share_link: str


class CommissionTotalOut(TypedDict):
    lines: int
    amount_fen: int


class CommissionLineOut(TypedDict):
    order_id: str
    level: int
    campaign_id: str
    distributor: str
    base_fen: int
    rate_bp: int
    amount_fen: int
    state: str
    updated_at_ms: int


class DownlineOut(TypedDict):
    code: str
    user: str  # masked
    status: str
    joined_at_ms: int


class OrderThroughLinkOut(TypedDict):
    order_id: str
    level: int
    amount_fen: int
    state: str
    campaign_id: str
    mode: str
    qty: int
    status: str
    created_at_ms: int


class WithdrawalOut(TypedDict):
    withdrawal_id: str
    distributor: str
    amount_fen: int
    status: Literal["requested", "paid", "rejected"]
    requested_at_ms: int
    decided_at_ms: int | None
    decided_by: str | None
    reason: str | None


class WithdrawalRecordOut(TypedDict):
    id: str
    distributor: str
    amount_fen: int
    status: Literal["requested", "paid", "rejected"]
    requested_at_ms: int
    decided_at_ms: NotRequired[int]
    decided_by: NotRequired[str]
    reason: NotRequired[str | None]


class MyCommissionsOut(DistributorOut):
    commissions: dict[str, CommissionTotalOut]
    paid_out_fen: int
    balance_fen: int
    debt_fen: int
    requested_fen: int
    withdrawable_fen: int
    recruits: int
    lines: list[CommissionLineOut]
    downline: list[DownlineOut]
    orders: list[OrderThroughLinkOut]
    withdrawals: list[WithdrawalOut]
    display_name: str | None  # what the big screen's leaderboard calls them
    link: LinkStatsOut  # the link's views and clicks in this campaign


class LinkStatsOut(TypedDict):
    views: int  # viewers who opened the live room through it (once a viewer and day)
    clicks: int  # of those visits, ones that pressed an order button


class NoticeOut(TypedDict):
    kind: Literal["host", "clear"]
    text: str
    at_ms: int


class UnreadOut(TypedDict):
    unread: int


class CommunityOut(TypedDict):
    kind: Literal["community"]
    code: str
    name: str
    created_at_ms: int
    campaign_id: str
    share_link: str


class MemberOut(TypedDict):
    user: str
    member_tier: str | None
    updated_at_ms: int


class PayoutOut(TypedDict):
    code: str
    paid_out_fen: int


class PresaleToGroupOut(TypedDict):
    result: Literal["opened", "already"]
    depositors_notified: int
    price_fen: int
    balance_fen: int


class OpsOrdersOut(TypedDict):
    orders: list[OrderOut]
    limit: int
    offset: int


class DistributorStateOut(TypedDict):
    lines: int
    base_fen: int
    amount_fen: int


class DistributorFinanceOut(TypedDict):
    distributor: str
    owed_fen: int
    states: dict[str, DistributorStateOut]


class FinanceOut(TypedDict):
    campaign_id: str
    orders: int
    paid_fen: int
    refunded_fen: int
    commission_fen: int
    merchant_net_fen: int
    distributors: list[DistributorFinanceOut]


class ReconcileOut(TypedDict):
    clean: bool
    summary: str
    problems: list[str]


class ScreenTokenOut(TypedDict):
    id: str
    campaign_id: str
    label: str
    expires_at: str
    revoked: bool


class ScreenTokenMintedOut(ScreenTokenOut):
    token: str
    url: str


class ScreenTokensOut(TypedDict):
    screen_tokens: list[ScreenTokenOut]


class DisplayNameIn(StrictBody):
    """What a big screen's leaderboard calls a distributor (null: their masked id again)."""

    display_name: (
        Annotated[
            str,
            Field(
                min_length=1, max_length=12, pattern=r"^[^\x00-\x1f\x7f<>]*\S[^\x00-\x1f\x7f<>]*$"
            ),
        ]
        | None
    )


class DisplayNameOut(TypedDict):
    code: str
    display_name: str | None


class TrendQuery(StrictBody):
    token: Annotated[str, Field(min_length=1, max_length=512)]


class TrendPointOut(TypedDict):
    at_ms: int  # the slice's start, campaign time
    orders: int  # placed in the slice
    paid_fen: int  # paid in the slice


class TrendOut(TypedDict):
    campaign_id: str
    bucket_ms: int
    points: list[TrendPointOut]


class ProvinceOut(TypedDict):
    code: str  # GB/T 2260, "310000"
    orders: int
    units: int


class WarehouseLoadOut(TypedDict):
    code: str
    name: str
    location: str
    free: int
    allocated: int
    shipped: int


class ScreenMapOut(TypedDict):
    provinces: list[ProvinceOut]
    warehouses: list[WarehouseLoadOut]


class RevokedOut(TypedDict):
    id: str
    revoked: bool


class StatusOut(TypedDict):
    status: str


class PausedOut(TypedDict):
    paused: list[str]


class VersionOut(TypedDict):
    version: int


ADDRESS_ID_PATTERN = r"^a[0-9a-f]{16}$"
WAREHOUSE_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_DIVISION = Annotated[str, Field(pattern=r"^(\d{6})?$")]


class AddressIn(StrictBody):
    """The fields are checked again by domain/addresses.py (phone, the divisions)."""

    recipient: Annotated[str, Field(max_length=40)]
    phone: Annotated[str, Field(max_length=20)]
    province: _DIVISION
    city: _DIVISION = ""
    district: _DIVISION = ""
    street: Annotated[str, Field(max_length=240)]


class AddressOut(TypedDict):
    id: str
    recipient: str
    phone: str
    region_code: str
    region: str
    street: str
    is_default: bool


class AddressesOut(TypedDict):
    addresses: list[AddressOut]


class OrderAddressIn(StrictBody):
    address_id: Annotated[str, Field(pattern=ADDRESS_ID_PATTERN)]


class RoutePartIn(StrictBody):
    warehouse: Annotated[str, Field(pattern=WAREHOUSE_CODE_PATTERN)]
    units: Annotated[int, Field(gt=0, le=10_000)]


class RouteIn(StrictBody):
    route: Annotated[list[RoutePartIn], Field(min_length=1, max_length=64)]


class WarehouseOut(TypedDict):
    code: str
    name: str
    kind: str
    location: str
    stock: int
    free: int
    allocated: int
    shipped: int


class WarehousesOut(TypedDict):
    campaign_id: str
    strategy: str
    warehouses: list[WarehouseOut]
    awaiting_address: int  # paid orders that cannot be routed before their buyer says where


class LogisticsIn(StrictBody):
    """A logistics provider's event; the subscription carries our order id."""

    order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN)]
    carrier: Annotated[str, Field(pattern=r"^[A-Z]{2,4}$")]
    tracking_no: Annotated[str, Field(pattern=r"^[A-Z0-9]{6,32}$")]
    event_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    status: Literal["collected", "in_transit", "out_for_delivery", "delivered", "exception"]
    at: AwareDatetime
    text: Annotated[str, Field(max_length=200)] = ""


class LogisticsOut(TypedDict):
    result: Literal["recorded", "duplicate"]
    status: str  # the order's status after the event


class ShipmentsOut(TypedDict):
    shipped: int
    unchanged: int  # shipped before with the same carrier and tracking number
    corrected: int  # in transit with another number: this one replaced it
    changed_lines: list[int]  # rows whose order ended while the file was applied: not shipped


class CarrierOut(TypedDict):
    code: str
    name: str


class CarriersOut(TypedDict):
    carriers: list[CarrierOut]


class RegionOut(TypedDict):
    code: str
    name: str
    leaf: bool  # nothing below it: the last level an address names


class RegionsOut(TypedDict):
    regions: list[RegionOut]


class AfterSaleOut(TypedDict):
    id: str
    order_id: str
    status: Literal["open", "approved", "rejected"]
    reason: str
    units: int
    text: str
    refund_fen: int | None
    restock_units: int | None
    photos: int


class AfterSaleRowOut(TypedDict):
    request_id: str
    campaign_id: str
    order_id: str
    user_id: str
    reason: str
    units: int
    text: str
    photos: int
    status: str
    refund_fen: int
    refund_units: int
    restock_units: int
    decided_by: str | None
    decision_reason: str | None
    opened_at_ms: int
    decided_at_ms: int | None


class AfterSalesOut(TypedDict):
    requests: list[AfterSaleRowOut]


class DecisionOut(TypedDict):
    request: AfterSaleOut
    order: OrderOut | None


class AfterSaleDecisionOut(TypedDict):
    verdict: Literal["approved", "rejected"]
    reason: str  # ops' words to the buyer
    at: str


class AfterSaleStateOut(TypedDict):
    open: bool  # a request waits for ops
    refunded_fen: int  # given back by after-sale so far
    units: int  # units refunded so far
    last: AfterSaleDecisionOut | None  # the latest decision


class ScreenLinksOut(TypedDict):
    """The big screen's 玩法联动 lines (domain/attribution.py says what each means)."""

    depositors: int
    depositors_in_groups: int
    group_buyers: int
    group_via_distributors: int
    groups_closed: int
    formation_rate: float
    active_distributors: int
    gmv_by_first_touch: dict[str, int]  # channel -> fen


class FunnelOut(TypedDict):
    source: str  # a channel, or "ref:<code>" / "group:<code>"
    views: int
    orders: int
    paid: int
    balance_paid: int
    order_rate: float
    paid_rate: float


class OverlapOut(TypedDict):
    depositors: int
    depositors_in_groups: int
    depositors_in_groups_rate: float
    group_buyers: int
    group_buyers_via_distributors: int
    group_via_distributors_rate: float
    direct_buyers: int
    in_all_three: int


class GroupSizeOut(TypedDict):
    paid_members: int
    groups: int


class GroupFiguresOut(TypedDict):
    opened: int
    formed: int
    failed: int
    formation_rate: float
    sizes: list[GroupSizeOut]
    sign_ups: int


class DistributorFiguresOut(TypedDict):
    recruited: int
    active: int
    active_rate: float
    tree_depth: int


class AttributionOut(TypedDict):
    """The attribution report (server/domain/attribution.py says what each figure means)."""

    campaign_id: str
    overlap: OverlapOut
    channels: list[FunnelOut]
    sources: list[FunnelOut]
    groups: GroupFiguresOut
    distributors: DistributorFiguresOut
    gmv_fen: int
    gmv_by_mode: dict[str, int]
    gmv_by_first_touch: dict[str, int]


class MaterialOut(TypedDict):
    """An item of the material library as viewers and distributors see it."""

    material_id: str
    kind: Literal["post", "poster", "video"]
    title: str
    text: str
    images: int  # its images are .../images/1.jpg ... n.jpg (and n.thumb.jpg)
    video_url: str | None
    created_at_ms: int


class MaterialsOut(TypedDict):
    materials: list[MaterialOut]


class MyPostOut(MaterialOut):
    status: Literal["pending", "approved", "rejected", "taken_down"]
    reason: str | None


class MyPostsOut(TypedDict):
    may_post: bool  # a paid order in the campaign: the page shows its form
    posts: list[MyPostOut]


class MaterialFiguresOut(TypedDict):
    shares: int
    views: int
    clicks: int
    orders: int  # placed with it as the buyer's last touch
    paid: int


class OpsMaterialOut(MyPostOut):
    author: str
    order_id: str | None
    decided_by: str | None
    figures: MaterialFiguresOut


class OpsMaterialsOut(TypedDict):
    materials: list[OpsMaterialOut]


class ShareOut(TypedDict):
    """A distributor's share of a material: the link with their code and the material, its
    QR code, and the material as a picture with the QR code on it."""

    material_id: str
    url: str
    qr_url: str
    card_url: str  # the material with that QR code on it (PNG)
