"""The ledger's tables (SQLAlchemy Core). Times are campaign-clock milliseconds; money fen.

Every row that comes from the order stream carries its stream position, so applying
an entry twice is detected (order_events' primary key) and an older snapshot never
overwrites a newer one.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(96), primary_key=True),
    Column("campaign_id", String(64), nullable=False, index=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("mode", String(16), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("status", String(24), nullable=False, index=True),
    Column("pool", String(64), nullable=False),
    Column("held", String(16), nullable=False),
    Column("alloc", Text, nullable=False),
    Column("unit_price_fen", BigInteger, nullable=False),
    Column("amount_due_fen", BigInteger, nullable=False),
    Column("paid_fen", BigInteger, nullable=False),
    Column("refunded_fen", BigInteger, nullable=False),
    Column("group_code", String(16)),
    Column("ref", String(64)),
    Column("warehouse", String(64)),
    Column("address_id", String(24)),  # the address it ships to (addresses keep old rows)
    Column("region_code", String(6)),  # that address's most precise GB/T 2260 code
    Column("route", Text),  # JSON [[warehouse, units], ...] once routed
    Column("carrier", String(8)),
    Column("tracking_no", String(32)),
    Column("first_touch", String(40)),  # the buyer's first share link, when placed
    # and their latest (domain/touches.py); indexed: a material's orders are found by it
    Column("last_touch", String(40), index=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("stream_ms", BigInteger, nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
    Column("snapshot", Text, nullable=False),
)

order_events = Table(
    "order_events",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("stream_id", String(40), primary_key=True),
    Column("order_id", String(96), index=True),
    Column("type", String(24), nullable=False),
    Column("status", String(24)),
    Column("at_ms", BigInteger, nullable=False),
    Column("data", Text, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", String(96), primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("order_id", String(96), nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at_ms", BigInteger, nullable=False),
    Column("settled_at_ms", BigInteger),
    Column("stream_ms", BigInteger, nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
    # who took the money, so a refund goes back the same way (payments/providers.py)
    Column("provider", String(16), nullable=False, server_default="sandbox"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("stream_id", String(40), primary_key=True),
    Column("order_id", String(96), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

pool_moves = Table(
    "pool_moves",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("stream_id", String(40), primary_key=True),
    Column("pool", String(64), nullable=False),
    Column("target", String(64), nullable=False),
    Column("units", Integer, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

# What the logistics provider said about each shipped order, every event once.
shipment_events = Table(
    "shipment_events",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("stream_id", String(40), primary_key=True),
    Column("order_id", String(96), nullable=False, index=True),
    Column("event_id", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("text", String(200), nullable=False),
)

# Every view and click through a share link that counted (once a viewer, source and day).
link_visits = Table(
    "link_visits",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("stream_id", String(40), primary_key=True),
    Column("source", String(40), nullable=False, index=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # view | click
    Column("day", String(10), nullable=False),  # the campaign day, in its own zone
    Column("at_ms", BigInteger, nullable=False),
)

# Buyers' after-sale requests and ops' decisions (from the order stream, newest wins).
after_sales = Table(
    "after_sales",
    metadata,
    Column("request_id", String(24), primary_key=True),
    Column("campaign_id", String(64), nullable=False, index=True),
    Column("order_id", String(96), nullable=False, index=True),
    Column("user_id", String(64), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("units", Integer, nullable=False),
    Column("text", String(400), nullable=False),
    Column("photos", Integer, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # open | approved | rejected
    Column("refund_fen", BigInteger, nullable=False),
    Column("refund_units", Integer, nullable=False),
    Column("restock_units", Integer, nullable=False),
    Column("decided_by", String(32)),
    Column("decision_reason", String(200)),
    Column("opened_at_ms", BigInteger, nullable=False),
    Column("decided_at_ms", BigInteger),
)

groups = Table(
    "groups",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("code", String(16), primary_key=True),
    Column("leader", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("members", Integer, nullable=False),
    Column("paid", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("opened_at_ms", BigInteger, nullable=False),
    Column("closed_at_ms", BigInteger),
    Column("snapshot", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("member_tier", String(64)),
    Column("updated_at_ms", BigInteger, nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("user_id", String(64), index=True),
    Column("upline", String(16)),
    Column("name", String(64)),
    Column("status", String(16), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("campaign_id", String(64)),  # a distributor: the campaign that recruited them
)

commissions = Table(
    "commissions",
    metadata,
    Column("order_id", String(96), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("distributor", String(16), nullable=False, index=True),
    Column("base_fen", BigInteger, nullable=False),
    Column("rate_bp", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

payouts = Table(
    "payouts",
    metadata,
    Column("stream_id", String(40), primary_key=True),
    Column("distributor", String(16), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("withdrawal_id", String(32)),  # the request it settles, if any
    Column("returns", String(40)),  # a refused transfer given back: the payout it returns
)

withdrawals = Table(
    "withdrawals",
    metadata,
    Column("withdrawal_id", String(32), primary_key=True),
    Column("distributor", String(16), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # requested | paid | rejected
    Column("requested_at_ms", BigInteger, nullable=False),
    Column("decided_at_ms", BigInteger),
    Column("decided_by", String(64)),
    Column("reason", String(200)),
    Column("stream_ms", BigInteger, nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
)

# Viewers' address books, written by the gateway. A change retires a row and adds one, so an
# order's address_id always names what it ships to.
addresses = Table(
    "addresses",
    metadata,
    Column("address_id", String(24), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("recipient", String(40), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("region_label", String(60), nullable=False),
    Column("street", String(240), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=false()),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("retired_at_ms", BigInteger),
)

# The ops console's people. Written by the gateway (an account is not an order event), read
# at every sign-in; passwords as argon2 hashes only.
ops_users = Table(
    "ops_users",
    metadata,
    Column("username", String(32), primary_key=True),
    Column("display_name", String(60), nullable=False),
    Column("role", String(16), nullable=False),  # admin | operator | finance | screen
    Column("password_hash", String(200), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until_ms", BigInteger, nullable=False, server_default="0"),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

# Every ops action, from the ops stream (the worker writes it, exactly once).
audit_log = Table(
    "audit_log",
    metadata,
    Column("stream_id", String(40), primary_key=True),
    Column("at_ms", BigInteger, nullable=False, index=True),
    Column("actor", String(32), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("action", String(48), nullable=False, index=True),
    Column("target", String(128), nullable=False),
    Column("before", Text),
    Column("after", Text),
)

# Notices to viewers, planned by the worker's notifier from ledger facts: the key is the fact
# (see domain/notices.py), so a notice planned again is the same row, delivered once.
notices = Table(
    "notices",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("notice_key", String(160), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("text", String(400), nullable=False),
    Column("planned_at_ms", BigInteger, nullable=False),
    # pending | sent (inbox and channel) | inbox_only | skipped | failed (the channel refused)
    Column("state", String(12), nullable=False, index=True),
    Column("reason", String(200)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_try_ms", BigInteger, nullable=False),
    Column("claimed_by", String(64)),  # the worker sending it (several may run)
    Column("done_at_ms", BigInteger),
)

# What each viewer lets us push; no row: promotions on.
notice_prefs = Table(
    "notice_prefs",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("promotions", Boolean, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

# The material library (domain/materials.py): buyers' 晒单, pending until ops decide, and
# ops' own posters and video links. Content, not money or stock: written here directly.
materials = Table(
    "materials",
    metadata,
    Column("material_id", String(24), primary_key=True),
    Column("campaign_id", String(64), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # post | poster | video
    Column("author", String(64), nullable=False),  # the buyer, or the ops user
    Column("order_id", String(96)),  # a post's paid order
    Column("title", String(40), nullable=False),
    Column("text", String(500), nullable=False),
    Column("images", Integer, nullable=False),  # 1.jpg ... n.jpg, each with a thumbnail
    Column("video_url", String(300)),
    Column("status", String(12), nullable=False, index=True),
    Column("reason", String(200)),  # why ops rejected or took it down
    Column("created_at_ms", BigInteger, nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at_ms", BigInteger),
)

# Each time a distributor shared a material (its views and orders come from link_visits and
# orders, by the source "material:<id>").
material_shares = Table(
    "material_shares",
    metadata,
    Column("share_id", Integer, primary_key=True, autoincrement=True),
    Column("material_id", String(24), nullable=False, index=True),
    Column("campaign_id", String(64), nullable=False),
    Column("ref", String(24), nullable=False),  # the distributor's link code
    Column("at_ms", BigInteger, nullable=False),
)


# Refunds leaving the building (domain/refunds.py): each booked refund split over the
# payments that took the money, one row a part, planned once by its id and sent until the
# provider says it is done or refuses it.
refund_sends = Table(
    "refund_sends",
    metadata,
    Column("refund_id", String(64), primary_key=True),  # the provider dedups by it
    Column("campaign_id", String(64), nullable=False),
    Column("stream_id", String(40), nullable=False),  # the booked refund (refunds' key)
    Column("order_id", String(96), nullable=False),
    Column("payment_id", String(96), nullable=False, index=True),
    Column("provider", String(16), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("payment_fen", BigInteger, nullable=False),  # what that payment took
    Column("reason", String(32), nullable=False),
    Column("state", String(12), nullable=False),  # pending | processing | succeeded | refused
    Column("detail", String(200)),  # the provider's reason, or why the last try failed
    Column("provider_ref", String(64)),  # the provider's own refund id
    Column("tries", Integer, nullable=False),
    Column("claimed_by", String(64)),
    Column("planned_at_ms", BigInteger, nullable=False),
    Column("next_try_ms", BigInteger, nullable=False),
    Column("done_at_ms", BigInteger),
    Index("ix_refund_sends_booked", "campaign_id", "stream_id"),
    Index("ix_refund_sends_due", "state", "next_try_ms"),
)


# Each provider statement checked against the ledger (domain/statements.py), newest shown on
# the finance page.
statement_checks = Table(
    "statement_checks",
    metadata,
    Column("check_id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(16), nullable=False),
    Column("bill_date", String(10), nullable=False),
    Column("checked_at_ms", BigInteger, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("matched", Integer, nullable=False),
    Column("paid_fen", BigInteger, nullable=False),
    Column("refunded_fen", BigInteger, nullable=False),
    Column("fees_fen", BigInteger, nullable=False),
    Column("problems", Text, nullable=False),  # JSON list of sentences
)


# Where each distributor is paid (domain/payouts.py): personal data, masked for ops.
payees = Table(
    "payees",
    metadata,
    Column("distributor", String(16), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("account", String(128), nullable=False),
    Column("name", String(30), nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    # when first given (wall clock, as payouts' stream times): payouts booked before it were
    # paid outside and are never transferred
    Column("since_ms", BigInteger, nullable=False),
)

# Payouts sent through the provider as transfers, one row a booked payout, kept once by its
# id (the provider's out_bill_no); refused ones are returned to the balance once.
payout_sends = Table(
    "payout_sends",
    metadata,
    Column("payout_id", String(40), primary_key=True),  # the payout's identity-stream id
    Column("distributor", String(16), nullable=False, index=True),
    Column("provider", String(16), nullable=False),
    Column("account", String(128), nullable=False),
    Column("name", String(30), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("state", String(12), nullable=False),  # pending | processing | succeeded | refused
    Column("detail", String(200)),
    Column("provider_ref", String(64)),
    Column("confirm", Text),  # what the payee's WeChat needs to confirm receipt, if asked
    Column("tries", Integer, nullable=False),
    Column("claimed_by", String(64)),
    Column("planned_at_ms", BigInteger, nullable=False),
    Column("next_try_ms", BigInteger, nullable=False),
    Column("done_at_ms", BigInteger),
    Index("ix_payout_sends_due", "state", "next_try_ms"),
)

# The payout schedule ops set (one row), and the last slot it ran for.
payout_schedule = Table(
    "payout_schedule",
    metadata,
    Column("schedule_id", Integer, primary_key=True),
    Column("on", Boolean, nullable=False),
    Column("weekday", Integer, nullable=False),
    Column("at", String(5), nullable=False),  # HH:MM, campaign time zone
    Column("minimum_fen", BigInteger, nullable=False),
    Column("last_slot", String(10)),
    Column("updated_by", String(64), nullable=False),
)
