"""Broadcast rehearsal with Locust, against a running liveroom, through its public API.

Viewers log in, open the live feed, wait for the 开抢 moment together, then order in the
campaign's mix (presale deposits, group buys that open or join groups, direct buys through
distributors' share links) and pay most of what they order (the script plays the payment
provider with the signed webhook). A few viewers become distributors first, so there are
links to buy through. Ops screens hold the dashboard feed. Feed snapshots are reported as
"WS" requests whose response time is the snapshot's age on arrival (server clock -> here).

    locust -f loadtest/locustfile.py --headless -u 500 -r 100 -t 2m \\
        --host http://127.0.0.1:8000 --kaiqiang-in 20

Options: --campaign (default mid-autumn), --kaiqiang-in (seconds after the test starts),
--pay-share (default 0.92); LIVEROOM_OPS_TOKEN and LIVEROOM_PAYMENT_SECRET (the demo's by
default) for the ops screens and the payment webhook.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import gevent
import orjson
from locust import HttpUser, User, between, events, task
from locust.env import Environment
from websockets.sync.client import connect

from loadtest.client import secret_defaults
from server.payments.sandbox import signed_notice

_SECRETS = secret_defaults()  # the environment's, else the running demo's
OPS_TOKEN = _SECRETS["LIVEROOM_OPS_TOKEN"]
PAYMENT_SECRET = _SECRETS["LIVEROOM_PAYMENT_SECRET"]
MIX = {"presale": 40, "group": 35, "direct": 25}  # the article's broadcast, by orders
VIA_LINK = 0.55  # share of orders placed through a distributor's link
EXPECTED_REFUSALS = {"sold_out", "limit_reached", "window_closed", "group_full", "group_closed"}

links: list[str] = []  # distributors' codes, shared by this process's viewers
open_groups: list[str] = []
kaiqiang = gevent.event.Event()


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--campaign", default="mid-autumn", help="campaign id")
    parser.add_argument("--kaiqiang-in", type=float, default=10.0, help="seconds to 开抢")
    parser.add_argument("--pay-share", type=float, default=0.92, help="orders that are paid")


@events.test_start.add_listener
def _count_down(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    delay = options.kaiqiang_in if options else 10.0
    if not 0 <= delay <= 3600:
        raise ValueError("--kaiqiang-in: must be 0-3600 seconds")
    kaiqiang.clear()
    gevent.spawn_later(delay, kaiqiang.set)


def _feed(user: User, path: str, name: str) -> None:
    """Hold a websocket feed; report every snapshot's age as a 'WS' request."""
    url = (user.host or "").replace("http", "ws", 1) + path
    try:
        with connect(url, open_timeout=10) as ws:
            while user.environment.runner is not None:
                message = orjson.loads(ws.recv(timeout=30))
                if message.get("type") == "snapshot":
                    age_ms = max(0.0, (time.time() - message["server_time"]) * 1000)
                    events.request.fire(
                        request_type="WS",
                        name=name,
                        response_time=age_ms,
                        response_length=0,
                        exception=None,
                        context={},
                    )
    except Exception as exc:  # noqa: BLE001 - a dropped feed is reported, not fatal
        events.request.fire(
            request_type="WS",
            name=name,
            response_time=0,
            response_length=0,
            exception=exc,
            context={},
        )


class Viewer(HttpUser):
    weight = 50
    wait_time = between(0.5, 3)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.campaign = options.campaign if options else "mid-autumn"
        self.pay_share = options.pay_share if options else 0.92
        user = f"locust-{uuid.uuid4().hex[:12]}"
        with self.client.post(
            "/api/v1/sessions", json={"user_id": user}, name="login", catch_response=True
        ) as r:
            if r.status_code != 201:
                r.failure(f"login: {r.status_code} {r.text[:200]}")
                raise gevent.GreenletExit
            self.auth = {"Authorization": f"Bearer {r.json()['token']}"}
        if random.random() < 0.1:  # some viewers recruit: their links carry the others' orders
            with self.client.post(
                "/api/v1/distributors",
                json={},
                headers=self.auth,
                name="become distributor",
                catch_response=True,
            ) as r:
                if r.status_code in (200, 201):
                    links.append(r.json()["code"])
                else:
                    r.failure(f"{r.status_code} {r.text[:200]}")
        gevent.spawn(_feed, self, f"/ws/live/{self.campaign}", "live feed")
        r = self.client.get(f"/api/v1/campaigns/{self.campaign}", name="campaign")
        self.open_modes = [m for m in r.json().get("open_modes", []) if m in MIX] or ["direct"]
        kaiqiang.wait()  # everyone at once: the host says 开抢

    @task
    def order_and_pay(self) -> None:
        mode = random.choices(self.open_modes, [MIX[m] for m in self.open_modes])[0]
        body: dict[str, Any] = {"mode": mode, "qty": 1}
        if mode == "group":
            if open_groups and random.random() < 0.9:
                body["group_code"] = random.choice(open_groups[-50:])
            else:
                body["open_group"] = True
        if links and random.random() < VIA_LINK:
            body["ref"] = random.choice(links)
        with self.client.post(
            f"/api/v1/campaigns/{self.campaign}/orders",
            json=body,
            headers=self.auth,
            name=f"order {mode}",
            catch_response=True,
        ) as r:
            answer = r.json() if r.text else {}
            if r.status_code != 201:
                if answer.get("error") in EXPECTED_REFUSALS:
                    r.success()  # a refusal the rules call for is an answer, not a failure
                else:
                    r.failure(f"{r.status_code} {r.text[:200]}")
                return
        if answer.get("group_code") and body.get("open_group"):
            open_groups.append(answer["group_code"])
        if random.random() < self.pay_share:
            self._pay(answer["order_id"])

    def _pay(self, order_id: str) -> None:
        with self.client.post(
            f"/api/v1/orders/{order_id}/payments",
            headers=self.auth,
            name="open payment",
            catch_response=True,
        ) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code} {r.text[:200]}")
                return
            payment = r.json()
        body, headers = signed_notice(PAYMENT_SECRET, payment["payment_id"], payment["amount_fen"])
        with self.client.post(
            "/api/v1/payments/webhook",
            data=body,
            headers=headers,
            name="payment webhook",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:200]}")


class OpsScreen(HttpUser):
    """The big screen in the control room: one dashboard feed per screen, opened with a
    screen token ops mint for it (never the ops token)."""

    fixed_count = 1
    wait_time = between(5, 10)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        campaign = options.campaign if options else "mid-autumn"
        minted = self.client.post(
            "/api/v1/ops/screen-tokens",
            json={"campaign_id": campaign, "label": "locust"},
            headers={"Authorization": f"Bearer {OPS_TOKEN}"},
            name="mint screen token",
        )
        token = minted.json()["token"]
        gevent.spawn(_feed, self, f"/ws/dashboard/{campaign}?token={token}", "dashboard feed")

    @task
    def watch(self) -> None:
        """The feed runs in its own greenlet; the screen itself only waits."""
