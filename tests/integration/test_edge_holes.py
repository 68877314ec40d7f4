"""Small holes found by trying the edge as an attacker would: idempotency keys bound to
their target, signatures that are not ASCII, a provider's success after its own failure,
what public answers say about people and servers, ids and tokens read strictly."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Serve

pytestmark = pytest.mark.redis


async def test_an_idempotency_key_is_bound_to_its_order(serve: Serve) -> None:
    async with serve() as s:
        alice = await s.login("alice")
        first = await s.order(alice, mode="presale", qty=1)
        second = await s.order(alice, mode="presale", qty=1)
        keyed = {**alice, "Idempotency-Key": "pay-once"}
        a = await s.client.post(f"/api/v1/orders/{first['order_id']}/payments", headers=keyed)
        again = await s.client.post(f"/api/v1/orders/{first['order_id']}/payments", headers=keyed)
        elsewhere = await s.client.post(
            f"/api/v1/orders/{second['order_id']}/payments", headers=keyed
        )
        assert a.status_code == 201 and again.json() == a.json()
        assert elsewhere.status_code == 422, elsewhere.text
        assert elsewhere.json()["error"] == "idempotency_mismatch"
        assert elsewhere.json()["field"] == "Idempotency-Key"
        assert (await s.my_orders(alice))[second["order_id"]]["status"] == "awaiting_payment"


async def test_a_signature_that_is_not_ascii_is_refused(serve: Serve) -> None:
    async with serve() as s:
        for header in ("t=1,v1=é", "t=１,v1=00", "\u00e9"):
            r = await s.client.post(
                "/api/v1/payments/webhook",
                content=b"{}",
                headers={b"X-Signature": header.encode("utf-8")},
            )
            assert r.status_code == 401, (header, r.text)
            assert r.json()["field"] == "X-Signature"


async def test_a_success_after_a_failure_of_the_same_payment_is_applied(
    serve_with_ledger: Serve,
) -> None:
    """Providers retry: a payment first reported failed may succeed after all. The money
    moved, so it is recorded: applied when the order can still take it, refunded if not."""
    async with serve_with_ledger() as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="presale", qty=1)
        payment = await s.open_payment(alice, order["order_id"])
        assert (await s.notify(payment, "failed")).json()["result"] == "failed"
        late = await s.notify(payment, "succeeded")
        assert late.status_code == 200 and late.json()["result"] == "succeeded", late.text
        assert (await s.notify(payment, "succeeded")).json()["result"] == "duplicate"
        assert (await s.my_orders(alice))[order["order_id"]]["status"] == "awaiting_balance"

        other = await s.order(alice, mode="presale", qty=1)
        lost = await s.open_payment(alice, other["order_id"])
        assert (await s.notify(lost, "failed")).json()["result"] == "failed"
        await s.pay(alice, other["order_id"])  # the viewer paid again, successfully
        twice = await s.notify(lost, "succeeded")  # then the first one went through too
        assert twice.json()["result"] == "refunded", twice.text
        mine = (await s.my_orders(alice))[other["order_id"]]
        assert (mine["paid_fen"], mine["refunded_fen"]) == (10_000, 5_000)
        report = await s.reconcile()
        assert not report.problems, report.problems


async def test_a_group_does_not_show_its_leaders_id(serve: Serve) -> None:
    async with serve(clock_start="2026-09-06T10:00:00+08:00") as s:
        opened = await s.order(await s.login("leader-wang"), mode="group", qty=1, open_group=True)
        group = await s.group(opened["group_code"])
        assert "leader-wang" not in str(group) and group["leader"] == "le***ng"


async def test_ids_with_a_trailing_newline_are_not_ids(serve: Serve) -> None:
    async with serve() as s:
        alice = await s.login("alice")
        order = await s.order(alice, mode="presale", qty=1)
        r = await s.client.put(
            "/api/v1/ops/users/bob%0A", json={"member_tier": None}, headers=s.ops
        )
        assert r.status_code in (404, 422), r.text  # never user "bob"
        r = await s.client.post(f"/api/v1/orders/{order['order_id']}%0A/payments", headers=alice)
        assert r.status_code == 404
        r = await s.client.get("/api/v1/groups/ABCDEFGH%0A")
        assert r.status_code == 404


async def test_tokens_have_one_spelling(serve: Serve) -> None:
    async with serve() as s:
        token = (await s.login("alice"))["Authorization"].removeprefix("Bearer ")
        payload, signature = token.split(".")
        for variant in (
            f"{payload}.{signature}=",  # padding
            f"{payload}.{signature}==",
            f"{payload}=.{signature}",
            f"{payload}.{signature[:10]}\\n{signature[10:]}",
            f"{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        ):
            r = await s.client.get(
                "/api/v1/me/orders", headers={"Authorization": f"Bearer {variant}"}
            )
            assert r.status_code == 401, variant


async def test_probes_do_not_say_where_redis_is(serve: Serve) -> None:
    async with serve() as s:
        ready = await s.client.get("/readyz")
        assert ready.status_code == 200 and "redis://" not in ready.text
