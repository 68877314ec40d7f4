"""Wire shapes: request bodies (validated by pydantic) and responses (TypedDicts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic needs it for schemas on Python < 3.12

from server.domain.campaign import Mode

CAMPAIGN_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
GROUP_CODE_PATTERN = r"^[A-Z0-9]{4,16}$"
REF_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ORDER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}\.[0-9]{1,12}$"
PAYMENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}~[0-9a-f]{16}$"
MAX_QTY = 100


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


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


class WebhookIn(StrictBody):
    payment_id: Annotated[str, Field(pattern=PAYMENT_ID_PATTERN)]
    amount_fen: Annotated[int, Field(ge=0, le=10_000_000_000)]
    status: Literal["succeeded", "failed"]


class RefundIn(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class FulfilmentIn(StrictBody):
    status: Literal["allocated", "shipped", "delivered"]
    warehouse: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None


class ErrorOut(TypedDict):
    error: str
    message: str
    field: str | None


class SessionOut(TypedDict):
    token: str
    expires_at: str
    user_id: str


class StatusChange(TypedDict):
    status: str
    at: str


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
    history: list[StatusChange]


class PaymentOut(TypedDict):
    payment_id: str
    order_id: str
    stage: str
    amount_fen: int
    status: str


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
