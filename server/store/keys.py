"""Every Redis key the system uses. A campaign's keys share one hash tag, so on a
Redis Cluster they live in one slot and a script may touch all of them."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.buckets import bucket_of, bucket_tags, keyspace_of, payment_keyspace


@dataclass(frozen=True)
class CampaignKeys:
    prefix: str
    campaign_id: str

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{{{self.campaign_id}}}:{name}"

    @property
    def pools(self) -> str:
        return self._key("pools")

    @property
    def orders(self) -> str:
        return self._key("orders")

    @property
    def holdings(self) -> str:
        return self._key("holdings")

    @property
    def idempotency(self) -> str:
        return self._key("idem")

    @property
    def groups(self) -> str:
        return self._key("groups")

    @property
    def members(self) -> str:
        return self._key("members")

    @property
    def stream(self) -> str:
        return self._key("stream")

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def counters(self) -> str:
        return self._key("counters")

    @property
    def config(self) -> str:
        return self._key("config")

    @property
    def payments(self) -> str:
        return self._key("payments")

    @property
    def user_orders(self) -> str:
        return self._key("user_orders")

    @property
    def deadlines(self) -> str:
        return self._key("deadlines")

    @property
    def depositors(self) -> str:
        """Users who have paid a deposit (set): the depositor offer's audience."""
        return self._key("depositors")

    @property
    def progress(self) -> str:
        """Open groups scored by their members: the big screen's leading groups."""
        return self._key("progress")

    @property
    def leaders(self) -> str:
        """Distributors scored by units paid through their links, net of refunds (the big
        screen's leaderboard, and the volume that decides a distributor's rate tier)."""
        return self._key("leaders")

    @property
    def notifications(self) -> str:
        """Each user's kept notifications (hash: user -> JSON list, newest last)."""
        return self._key("notifications")

    def visits_seen(self, day: str) -> str:
        """Who opened (or clicked through) which link on a campaign day (set)."""
        return self._key(f"visits:{day}")

    @property
    def link_stats(self) -> str:
        """Views and clicks per source (hash "<source>|<kind>" -> count)."""
        return self._key("link_stats")

    @property
    def touches(self) -> str:
        """Each viewer's first and last link (hash user -> "<first>\t<last>")."""
        return self._key("touches")

    @property
    def notices_delivered(self) -> str:
        """Keys of the notices already in their viewers' inboxes (set): each goes in once."""
        return self._key("notices_delivered")

    @property
    def notifications_read(self) -> str:
        """Up to when each user has read their notifications (hash: user -> at_ms)."""
        return self._key("notifications_read")

    @property
    def warehouses(self) -> str:
        """Units per warehouse (hash: "<code>.stock", ".free", ".shipped"; "version" bumps
        on every change, so a route planned from older numbers is refused)."""
        return self._key("warehouses")

    @property
    def logistics_seen(self) -> str:
        """Ids of the logistics events already recorded (set): each counts once."""
        return self._key("logistics_seen")

    @property
    def after_sales(self) -> str:
        """Buyers' after-sale requests (hash: request id -> JSON), open and decided."""
        return self._key("after_sales")

    @property
    def loans(self) -> str:
        """Units this stock bucket lent that the borrower has not taken yet (hash: loan id
        -> JSON; lend.lua, domain/buckets.py)."""
        return self._key("loans")

    @property
    def loans_taken(self) -> str:
        """Ids of the loans this stock bucket has taken (set: each is taken once)."""
        return self._key("loans_taken")

    @property
    def stock_channel(self) -> str:
        """Pub/sub channel of every pool's remaining units; the scripts name it after the
        pools key (KEYS[1] .. ":stock"), so keep the two in step."""
        return f"{self.pools}:stock"

    @property
    def paused(self) -> str:
        """Modes paused by ops (set): their orders are refused until resumed."""
        return self._key("paused")

    @property
    def viewers(self) -> str:
        """Live-room feeds open per gateway process (hash: process -> "count:unix ms")."""
        return self._key("viewers")

    @property
    def feed_channel(self) -> str:
        """Pub/sub channel of the campaign's live feed."""
        return self._key("feed")

    def all(self) -> list[str]:
        return [
            self.pools,
            self.orders,
            self.holdings,
            self.idempotency,
            self.groups,
            self.members,
            self.stream,
            self.meta,
            self.counters,
            self.config,
            self.warehouses,
            self.logistics_seen,
            self.after_sales,
            self.loans,
            self.loans_taken,
        ]


@dataclass(frozen=True)
class CampaignKeyspaces:
    """A campaign's keyspaces: its own (bucket 0, `home`) and its stock buckets' (see
    domain/buckets.py), and which of them holds an order, a payment or a deadline. With one
    bucket everything is `home`, as before buckets existed."""

    buckets: tuple[CampaignKeys, ...]

    @classmethod
    def of(cls, prefix: str, campaign_id: str, k: int = 1) -> CampaignKeyspaces:
        return cls(tuple(CampaignKeys(prefix, tag) for tag in bucket_tags(campaign_id, k)))

    @property
    def home(self) -> CampaignKeys:
        return self.buckets[0]

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(keys.campaign_id for keys in self.buckets)

    def __len__(self) -> int:
        return len(self.buckets)

    def index_of(self, keyspace: str) -> int | None:
        """Which bucket a keyspace is (None: not one of this campaign's)."""
        for b, keys in enumerate(self.buckets):
            if keys.campaign_id == keyspace:
                return b
        return None

    def named(self, keyspace: str) -> CampaignKeys:
        """The keys of a keyspace by its name; an unknown one's are home's, where whatever
        names it is not found."""
        return self.buckets[self.index_of(keyspace) or 0]

    def of_order(self, order_id: str) -> CampaignKeys:
        return self.buckets[0] if len(self.buckets) == 1 else self.named(keyspace_of(order_id))

    def of_payment(self, payment_id: str) -> CampaignKeys:
        if len(self.buckets) == 1:
            return self.home
        return self.named(payment_keyspace(payment_id))

    def of_deadline(self, member: str) -> CampaignKeys:
        """A deadline names an order ("pay:<order id>") or something of home's ("group:...")."""
        if len(self.buckets) == 1:
            return self.home
        return self.named(keyspace_of(member.partition(":")[2]))

    def of_buyer(self, user: str, mode: str) -> CampaignKeys:
        return self.buckets[bucket_of(user, mode, len(self.buckets))]

    def of_buyer_everywhere(self, user: str) -> list[CampaignKeys]:
        """Where a buyer's orders can be: their own bucket, and home for group buys."""
        own = self.of_buyer(user, "direct")
        return [own] if own == self.home else [self.home, own]


@dataclass(frozen=True)
class GlobalKeys:
    prefix: str

    @property
    def campaigns(self) -> str:
        """Set of the campaign ids that have a configuration."""
        return f"{self.prefix}:campaigns"

    @property
    def clock(self) -> str:
        """The simulated clock's state, shared by every process."""
        return f"{self.prefix}:clock"

    def idempotency(self, scope: str, user: str, key: str) -> str:
        return f"{self.prefix}:idem:{scope}:{user}:{key}"


@dataclass(frozen=True)
class IdentityKeys:
    """The one user pool shared by every campaign: member tiers, distributors and share
    links. One hash tag, so a script may touch all of them on a Redis Cluster."""

    prefix: str

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{{identity}}:{name}"

    @property
    def users(self) -> str:
        return self._key("users")

    @property
    def names(self) -> str:
        """Distributors' display names for the big screen (hash: code -> name)."""
        return self._key("names")

    @property
    def refs(self) -> str:
        return self._key("refs")

    @property
    def distributor_of(self) -> str:
        return self._key("distributor_of")

    @property
    def stream(self) -> str:
        return self._key("stream")

    @property
    def returned_payouts(self) -> str:
        """Payouts whose refused transfer went back to the balance (set of payout ids)."""
        return self._key("returned_payouts")

    @property
    def counters(self) -> str:
        return self._key("counters")

    @property
    def recruited(self) -> str:
        return self._key("recruited")


@dataclass(frozen=True)
class OpsKeys:
    """The ops team's: console sessions and the audit stream, under one hash tag."""

    prefix: str

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{{ops}}:{name}"

    def session(self, digest: str) -> str:
        """A console session, by the SHA-256 of its cookie (the cookie itself is never kept)."""
        return self._key(f"session:{digest}")

    def sessions_of(self, username: str) -> str:
        """The session keys one person holds: ended together when their account changes."""
        return self._key(f"sessions-of:{username}")

    @property
    def audit(self) -> str:
        """Every ops action, in order; the worker writes them to the ledger's audit_log."""
        return self._key("audit")


@dataclass(frozen=True)
class SandboxKeys:
    """What the sandbox notice receiver got (the demo's stand-in for SMS or WeChat), and the
    sandbox payment provider's refunds."""

    prefix: str

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{{sandbox}}:{name}"

    @property
    def notices(self) -> str:
        """Each notice received, once (hash: notice id -> the body)."""
        return self._key("notices")

    @property
    def receipts(self) -> str:
        """Every delivery, duplicates included (a counter)."""
        return self._key("receipts")

    @property
    def refunds(self) -> str:
        """Each refund the sandbox provider took, once by its id (hash: id -> JSON)."""
        return self._key("refunds")

    @property
    def returned(self) -> str:
        """Fen refunded through each payment (hash: payment id -> fen)."""
        return self._key("returned")

    @property
    def refund_requests(self) -> str:
        """Every refund request the sandbox provider got, repeats included (counter)."""
        return self._key("refund_requests")
