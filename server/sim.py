"""The demo's simulated broadcast, entirely through the public API.

The 15-day campaign is compressed into a few minutes on the simulated clock, with the
shape the seed article reports: about 2,000 distributors recruited (some under an
upline), about 55% of orders through distributors' links, about 92% of deposits paid,
groups of about 25 members, depositors moved into the exclusive group in one ops action.
The numbers are scaled by `scale` (1.0: the canonical 10,000 boxes), and its 17 steps (the
recruiting, each day of the campaign, the close) are spread over `duration_s` of real time,
each step's orders evenly within its share, so a person can watch the big screen move. An
answer it did not expect (a server error, a refusal other than sold out or a full group, the
clock refusing to move) stops it with the reason. It ends by asking the server to reconcile.

Buyers give addresses drawn across the provinces; each day the warehouses ship what the
router gave them (their pick lists, then a tracking upload), and the sandbox courier reports
each parcel in transit and, a day later, delivered.

The growth loop runs too: ops add a poster and a video link to the material library, some
buyers post a 晒单 with a photo once paid, ops approve most of them each evening, and some
distributors share a material instead of their plain link, so the material funnels fill.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from PIL import Image

from server.fulfilment.sandbox_courier import signed_event, tracking_no
from server.payments.sandbox import signed_notice

log = logging.getLogger("liveroom.sim")

Json = dict[str, Any]


@dataclass
class Shape:
    distributors: int = 2000
    depositors: int = 1800
    deposit_paid_rate: float = 0.92
    balance_paid_rate: float = 0.9
    extra_box_rate: float = 0.15
    groups: int = 120
    group_size: tuple[int, int] = (18, 32)
    direct_buyers: int = 1500
    via_distributor: float = 0.55
    duration_s: float = 600.0  # real seconds the whole broadcast takes

    def scaled(self, scale: float) -> Shape:
        def n(x: int) -> int:
            return max(1, int(x * scale))

        return Shape(
            n(self.distributors),
            n(self.depositors),
            self.deposit_paid_rate,
            self.balance_paid_rate,
            self.extra_box_rate,
            n(self.groups),
            self.group_size,
            n(self.direct_buyers),
            self.via_distributor,
            self.duration_s,
        )


# Where buyers live (province, city, district) and how many of every 100 live there: the
# big screen's map fills where the warehouses are, and beyond.
PLACES: tuple[tuple[str, str, str, int], ...] = (
    ("310000", "", "310104", 10), ("320000", "320500", "320506", 8),
    ("330000", "330100", "330106", 8), ("440000", "440300", "440305", 10),
    ("440000", "440100", "440106", 7), ("110000", "", "110105", 8),
    ("510000", "510100", "510107", 7), ("500000", "", "500103", 5),
    ("420000", "420100", "420106", 5), ("370000", "370200", "370212", 5),
    ("350000", "350200", "350203", 4), ("430000", "430100", "430104", 4),
    ("610000", "610100", "610113", 4), ("410000", "410100", "410105", 4),
    ("120000", "", "120101", 3), ("210000", "210200", "210202", 3),
    ("530000", "530100", "530102", 2), ("650000", "650100", "650102", 1),
    ("450000", "450100", "450103", 2),
)  # fmt: skip
CARRIERS = ("SF", "ZTO", "YTO", "JD")

STEPS = 17  # recruiting, 5 presale days, the move to group, 9 group days, the close
# Refusals a busy broadcast meets; any other answer means something is wrong.
EXPECTED_REFUSALS = frozenset({"sold_out", "group_full", "group_closed"})


COMMUNITIES = ("幸福里小区群", "阳光花园业主群", "公司团购群")
COMMUNITY_SHARE = 0.25  # of the orders not through a distributor, those via a community link
MATERIAL_SHARE = 0.35  # of the orders through a distributor, those via a material they shared
POST_RATE = 0.25  # of the direct buyers, those who post a 晒单 once paid
POST_TEXTS = (
    "收到啦，礼盒很有质感，送长辈很体面",
    "流心奶黄真的会流心！孩子一口气吃了两个",
    "拼团价太香了，已经推荐给同事",
    "包装严实，一个都没碎，点赞",
)


class SimulationStopped(Exception):
    """The broadcast met an answer it did not expect; the message says which."""


@dataclass
class Pace:
    """The broadcast's steps, each given an equal share of the real time it takes."""

    total_s: float
    steps: int = STEPS
    started: float = field(default_factory=time.monotonic)
    done: int = 0

    @property
    def step_s(self) -> float:
        return self.total_s / self.steps

    async def step_done(self) -> None:
        """Wait out the rest of this step's share (none if the step ran over)."""
        self.done += 1
        await asyncio.sleep(max(0.0, self.started + self.done * self.step_s - time.monotonic()))


@dataclass
class Simulation:
    base: str
    ops_token: str
    payment_secret: str
    shape: Shape = field(default_factory=Shape)
    logistics_secret: str = ""  # the sandbox courier reports parcels only with it
    campaign: str = "mid-autumn"
    concurrency: int = 40
    tally: dict[str, int] = field(default_factory=dict)
    _session: aiohttp.ClientSession | None = None
    _codes: list[str] = field(default_factory=list)
    _pace: Pace | None = None
    _addresses: dict[str, str] = field(default_factory=dict)  # buyer -> their address id
    _in_transit: list[tuple[str, str, str]] = field(default_factory=list)  # order, carrier, no
    _parcels: int = 0
    _shipped: set[str] = field(default_factory=set)  # the ledger may list them a moment longer
    _a_depositor: dict[str, str] | None = None  # one who paid a deposit: sees the offer open
    _communities: list[str] = field(default_factory=list)  # community links' codes
    _lookers: int = 0  # viewers who open a shared link and do not buy
    _sellers: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> their login
    _materials: list[str] = field(default_factory=list)  # approved, shareable

    async def run(self) -> Json:
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        self._pace = Pace(self.shape.duration_s)
        async with aiohttp.ClientSession(self.base, connector=connector) as self._session:
            await self._presale()
            await self._group_phase()
            await self._close()
            report = await self._call(
                "GET", f"/api/v1/ops/reconcile?campaign_id={self.campaign}", ops=True
            )
        log.info("simulation done: %s", self.tally)
        log.info("reconcile: %s", report.get("summary"))
        return report

    async def _presale(self) -> None:
        await self._set_clock("2026-09-01T20:00:00+08:00")
        await self._each(range(self.shape.distributors), self._recruit)
        for name in COMMUNITIES:
            made = await self._call("POST", "/api/v1/ops/communities", {"name": name}, ops=True)
            self._communities.append(made["code"])
        await self._ops_materials()
        await self._step_done()
        days = [
            "2026-09-01T21:00:00+08:00",
            "2026-09-02T20:00:00+08:00",
            "2026-09-03T20:00:00+08:00",
            "2026-09-04T20:00:00+08:00",
            "2026-09-05T20:00:00+08:00",
        ]
        per_day = self.shape.depositors // len(days) + 1
        for day, moment in enumerate(days):
            await self._set_clock(moment)
            start = day * per_day
            await self._each(
                range(start, min(start + per_day, self.shape.depositors)), self._depositor
            )
            await self._step_done()

    async def _group_phase(self) -> None:
        # Nobody clicks: the worker opens the depositor offer on Sept 6 and tells each
        # depositor (a campaign without [notifications] open_depositor_offer: the desk does).
        await self._set_clock("2026-09-06T00:00:30+08:00")
        if not await self._offer_opened_by_itself():
            await self._call(
                "POST", f"/api/v1/ops/campaigns/{self.campaign}/presale-to-group", ops=True
            )
        await self._set_clock("2026-09-06T10:00:00+08:00")
        await self._each(range(self.shape.depositors), self._balance)
        await self._step_done()
        per_day = self.shape.groups // 9 + 1
        direct_per_day = self.shape.direct_buyers // 9 + 1
        for day in range(9):
            await self._set_clock(f"2026-09-{6 + day:02d}T20:00:00+08:00")
            await self._each(
                range(day * per_day, min((day + 1) * per_day, self.shape.groups)), self._group
            )
            first = day * direct_per_day
            await self._each(
                range(first, min(first + direct_per_day, self.shape.direct_buyers)), self._direct
            )
            await self._ship()
            await self._moderate()
            await self._step_done()

    async def _close(self) -> None:
        for moment in ("2026-09-15T00:00:30+08:00", "2026-09-15T22:00:30+08:00"):
            await self._set_clock(moment)  # 24 h and 2 h before: the balance reminders go out
            await asyncio.sleep(2.5)  # the worker's notifier plans every half second
        await self._set_clock("2026-09-16T00:30:00+08:00")  # groups close, balances lapse
        await asyncio.sleep(3.0)  # the sweeps run, the router routes the groups that formed
        await self._ship()
        await self._ship()  # what shipped just now is delivered too
        await self._step_done()

    # -- the warehouses and the courier -----------------------------------------------------

    async def _ship(self) -> None:
        """Deliver yesterday's parcels, then ship every routed order on a pick list."""
        if self.logistics_secret:
            await self._each_now(self._in_transit, self._delivered)
        self._in_transit = []
        houses = await self._call(
            "GET", f"/api/v1/ops/warehouses?campaign_id={self.campaign}", ops=True
        )
        picked: dict[str, None] = {}
        for house in houses.get("warehouses", []):
            text = await self._text("GET", f"/api/v1/ops/warehouses/{house['code']}/pick-list")
            for row in list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:-1]:
                if row[0] not in self._shipped:
                    picked[row[0]] = None
        if not picked:
            return
        rows = ["订单号,快递公司,运单号"]
        for order_id in picked:
            self._parcels += 1
            carrier = CARRIERS[self._parcels % len(CARRIERS)]
            number = tracking_no(carrier, self._parcels)
            rows.append(f"{order_id},{carrier},{number}")
            self._shipped.add(order_id)
            self._in_transit.append((order_id, carrier, number))
        await self._text("POST", "/api/v1/ops/shipments", "\n".join(rows).encode())
        self._count("parcels shipped", len(picked))
        if self.logistics_secret:
            await self._each_now(self._in_transit, self._moving)

    async def _moving(self, parcel: tuple[str, str, str]) -> None:
        await self._courier(parcel, "in_transit", "快件已从仓库发出")

    async def _delivered(self, parcel: tuple[str, str, str]) -> None:
        await self._courier(parcel, "delivered", "已签收，感谢使用")
        self._count("parcels delivered")

    async def _courier(self, parcel: tuple[str, str, str], status: str, text: str) -> None:
        order_id, carrier, number = parcel
        clock = await self._call("GET", "/api/v1/clock")
        body, signed = signed_event(
            self.logistics_secret, order_id, carrier, number, status,
            datetime.fromisoformat(clock["now"]), text,
        )  # fmt: skip
        assert self._session is not None
        async with self._session.post("/api/v1/logistics/webhook", data=body, headers=signed) as r:
            if r.status != 200:
                raise SimulationStopped(f"a logistics event was refused: {await r.text()}")

    # -- one viewer or distributor each -------------------------------------------------

    async def _recruit(self, i: int) -> None:
        headers = await self._login(f"sim-d{i}")
        upline = {"upline": random.choice(self._codes)} if self._codes and i % 3 else {}
        found = await self._call("POST", "/api/v1/distributors", upline, headers=headers)
        self._codes.append(found["code"])
        self._sellers[found["code"]] = headers
        self._count("distributors")

    async def _depositor(self, i: int) -> None:
        headers = await self._login(f"sim-p{i}")
        order = await self._order(headers, {"mode": "presale", "qty": 1})
        if order and random.random() < self.shape.deposit_paid_rate:
            await self._pay(headers, order["order_id"], "deposits paid")
            self._a_depositor = self._a_depositor or headers

    async def _offer_opened_by_itself(self, within_s: float = 10.0) -> bool:
        """Whether a depositor sees the offer open within a few seconds."""
        if self._a_depositor is None:
            return False
        url = f"/api/v1/campaigns/{self.campaign}/quote"
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            quote = await self._call("GET", url, headers=self._a_depositor)
            if any(o["offer"] == "depositor_group" and o["open"] for o in quote["options"]):
                return True
            await asyncio.sleep(0.2)
        return False

    async def _balance(self, i: int) -> None:
        headers = await self._login(f"sim-p{i}")
        mine = await self._call("GET", "/api/v1/me/orders", headers=headers)
        for order in mine.get("orders", []):
            if (
                order["status"] == "awaiting_balance"
                and random.random() < self.shape.balance_paid_rate
            ):
                await self._pay(headers, order["order_id"], "balances paid")
                if random.random() < self.shape.extra_box_rate:
                    extra = await self._order(
                        headers, {"mode": "group", "qty": 1, "offer": "depositor_group"}
                    )
                    if extra:
                        await self._pay(headers, extra["order_id"], "depositor extra boxes")

    async def _group(self, g: int) -> None:
        leader = await self._login(f"sim-g{g}-0")
        opened = await self._order(leader, {"mode": "group", "qty": 1, "open_group": True})
        if not opened:
            return
        await self._pay(leader, opened["order_id"], "group orders paid")
        size = random.randint(*self.shape.group_size)
        for m in range(1, size):
            member = await self._login(f"sim-g{g}-{m}")
            joined = await self._order(
                member, {"mode": "group", "qty": 1, "group_code": opened["group_code"]}
            )
            if joined:
                await self._pay(member, joined["order_id"], "group orders paid")

    async def _direct(self, i: int) -> None:
        headers = await self._login(f"sim-b{i}")
        order = await self._order(headers, {"mode": "direct", "qty": random.choice([1, 1, 2])})
        if order:
            await self._pay(headers, order["order_id"], "direct orders paid")
            if random.random() < POST_RATE:
                await self._post(headers)

    # -- plumbing -------------------------------------------------------------------------

    async def _order(self, headers: dict[str, str], body: Json) -> Json | None:
        link: dict[str, str] | None = None
        if self._codes and random.random() < self.shape.via_distributor:
            link = {"ref": random.choice(self._codes)}
        elif self._communities and random.random() < COMMUNITY_SHARE:
            link = {"ref": random.choice(self._communities)}
        if link:
            body = {**body, **link}
        if link and link["ref"] in self._sellers and self._materials:
            if random.random() < MATERIAL_SHARE:
                link = await self._share(link["ref"])
        arrived = link or ({"group": body["group_code"]} if "group_code" in body else None)
        if arrived:
            await self._arrive(headers, arrived)
        found = await self._call(
            "POST", f"/api/v1/campaigns/{self.campaign}/orders", body, headers=headers
        )
        if "order_id" in found:
            self._count("orders placed")
            await self._ship_to(headers, found["order_id"])
            return found
        if found.get("error") not in EXPECTED_REFUSALS:
            raise SimulationStopped(f"an order was refused {found.get('error')}: {found}")
        self._count(f"refused {found.get('error')}")
        return None

    async def _arrive(self, headers: dict[str, str], link: dict[str, str]) -> None:
        """The buyer opens the live room through the link (some came through a community's
        post before) and presses buy; another viewer opens the same link and only looks."""
        visits = f"/api/v1/campaigns/{self.campaign}/visits"
        if self._communities and random.random() < 0.2:
            earlier = {"ref": random.choice(self._communities)}
            await self._call("POST", visits, {**earlier, "kind": "view"}, headers=headers)
        await self._call("POST", visits, {**link, "kind": "view"}, headers=headers)
        await self._call("POST", visits, {**link, "kind": "click"}, headers=headers)
        if random.random() < 0.6:
            self._lookers += 1
            looker = await self._login(f"sim-w{self._lookers}")
            await self._call("POST", visits, {**link, "kind": "view"}, headers=looker)

    # -- the material library --------------------------------------------------------------

    async def _ops_materials(self) -> None:
        poster = aiohttp.FormData({"campaign_id": self.campaign, "kind": "poster"})
        poster.add_field("title", "中秋礼盒 · 全家团圆")
        poster.add_field("image", _photo((178, 38, 30)), filename="poster.jpg")
        video = {"campaign_id": self.campaign, "kind": "video", "title": "主播试吃流心奶黄"}
        video["video_url"] = "https://video.example.com/mid-autumn/tasting"
        for form in (poster, aiohttp.FormData(video)):
            made = await self._call("POST", "/api/v1/ops/materials", form=form, ops=True)
            self._materials.append(made["material_id"])

    async def _post(self, headers: dict[str, str]) -> None:
        form = aiohttp.FormData({"text": random.choice(POST_TEXTS)})
        form.add_field("images", _photo((200, 150, 60)), filename="mooncake.jpg")
        made = await self._call(
            "POST", f"/api/v1/campaigns/{self.campaign}/posts", form=form, headers=headers
        )
        self._count("posts" if "material_id" in made else f"posts refused {made.get('error')}")

    async def _moderate(self) -> None:
        """Ops' evening round: most posts approved, the odd one rejected."""
        url = f"/api/v1/ops/materials?campaign_id={self.campaign}&status=pending"
        for post in (await self._call("GET", url, ops=True))["materials"]:
            mid = post["material_id"]
            if random.random() < 0.85:
                await self._call("POST", f"/api/v1/ops/materials/{mid}/approve", {}, ops=True)
                self._materials.append(mid)
                self._count("posts approved")
            else:
                reason = {"reason": "图片与商品无关"}
                await self._call("POST", f"/api/v1/ops/materials/{mid}/reject", reason, ops=True)

    async def _share(self, code: str) -> dict[str, str]:
        """The distributor shares a material: the buyer arrives through that link."""
        mid = random.choice(self._materials)
        url = f"/api/v1/campaigns/{self.campaign}/materials/{mid}/shares"
        await self._call("POST", url, headers=self._sellers[code])
        self._count("materials shared")
        return {"ref": code, "material": mid}

    async def _ship_to(self, headers: dict[str, str], order_id: str) -> None:
        """The buyer's address (made on their first order) goes with every order."""
        who = headers["Authorization"]
        if who not in self._addresses:
            province, city, district, _ = random.choices(PLACES, [p[3] for p in PLACES])[0]
            address = {
                "recipient": random.choice("王李张刘陈杨黄赵吴周")
                + random.choice(["先生", "女士"]),
                "phone": f"13{random.randint(0, 999_999_999):09d}",
                "province": province,
                "city": city,
                "district": district,
                "street": f"幸福路 {random.randint(1, 999)} 号 {random.randint(1, 30)} 栋",
            }
            made = await self._call("POST", "/api/v1/me/addresses", address, headers=headers)
            if "id" not in made:
                raise SimulationStopped(f"an address was refused: {made}")
            self._addresses[who] = made["id"]
        chosen = {"address_id": self._addresses[who]}
        answer = await self._call(
            "PUT", f"/api/v1/orders/{order_id}/address", chosen, headers=headers
        )
        if "order_id" not in answer:
            raise SimulationStopped(f"an order's address was refused: {answer}")

    async def _pay(self, headers: dict[str, str], order_id: str, label: str) -> None:
        payment = await self._call(
            "POST", f"/api/v1/orders/{order_id}/payments", {}, headers=headers
        )
        if "payment_id" not in payment:
            raise SimulationStopped(f"a payment could not be opened: {payment}")
        body, signed = signed_notice(
            self.payment_secret, payment["payment_id"], payment["amount_fen"]
        )
        assert self._session is not None
        async with self._session.post("/api/v1/payments/webhook", data=body, headers=signed) as r:
            if r.status != 200:
                raise SimulationStopped(f"the payment notice was refused: {await r.text()}")
            self._count(label)

    async def _login(self, user: str) -> dict[str, str]:
        found = await self._call("POST", "/api/v1/sessions", {"user_id": user})
        return {"Authorization": f"Bearer {found['token']}"}

    async def _set_clock(self, iso: str) -> None:
        found = await self._call("POST", "/api/v1/ops/clock", {"set": iso}, ops=True)
        if found.get("error") == "clock_backwards":
            raise SimulationStopped(
                f"the campaign clock is already past {iso}: this broadcast was played before "
                "(a demo run with --keep); run `liveroom demo` without --keep for a fresh one"
            )

    async def _step_done(self) -> None:
        assert self._pace is not None
        await self._pace.step_done()

    async def _call(
        self,
        method: str,
        path: str,
        body: Json | None = None,
        *,
        headers: dict[str, str] | None = None,
        ops: bool = False,
        form: aiohttp.FormData | None = None,  # a multipart body instead of JSON
    ) -> Json:
        assert self._session is not None
        if ops:
            headers = {"Authorization": f"Bearer {self.ops_token}"}
        sent: dict[str, Any] = {"data": form} if form is not None else {"json": body}
        async with self._session.request(method, path, headers=headers, **sent) as r:
            found: Json = await r.json(content_type=None)
            if r.status >= 500 or (
                ops and r.status >= 300 and found.get("error") != "clock_backwards"
            ):
                raise SimulationStopped(f"{method} {path} answered {r.status}: {found}")
            return found

    async def _text(self, method: str, path: str, body: bytes | None = None) -> str:
        """An ops call whose request or answer is CSV."""
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self.ops_token}", "Content-Type": "text/csv"}
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}campaign_id={self.campaign}"
        async with self._session.request(method, url, data=body, headers=headers) as r:
            found = await r.text()
            if r.status >= 300:
                raise SimulationStopped(f"{method} {path} answered {r.status}: {found[:500]}")
            return found

    async def _each_now(
        self,
        items: list[tuple[str, str, str]],
        step: Callable[[tuple[str, str, str]], Awaitable[None]],
    ) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item: tuple[str, str, str]) -> None:
            async with gate:
                await step(item)

        await asyncio.gather(*(one(item) for item in items))

    async def _each(self, items: Iterable[int], step: Callable[[int], Awaitable[None]]) -> None:
        """Every item, started evenly over most of this step's share of the time."""
        gate = asyncio.Semaphore(self.concurrency)
        todo = list(items)
        spread = 0.8 * self._pace.step_s if self._pace else 0.0
        started = time.monotonic()

        async def one(n: int, i: int) -> None:
            await asyncio.sleep(max(0.0, started + n * spread / len(todo) - time.monotonic()))
            async with gate:
                await step(i)

        await asyncio.gather(*(one(n, i) for n, i in enumerate(todo)))

    def _count(self, label: str, by: int = 1) -> None:
        self.tally[label] = self.tally.get(label, 0) + by


def _photo(color: tuple[int, int, int]) -> bytes:
    """A phone-sized picture in one warm colour fading to white (what a demo can post)."""
    image = Image.linear_gradient("L").resize((900, 1200)).convert("RGB")
    tint = Image.new("RGB", image.size, color)
    out = io.BytesIO()
    Image.blend(tint, image, 0.35).save(out, "JPEG", quality=80)
    return out.getvalue()
