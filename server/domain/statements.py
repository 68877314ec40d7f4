"""A payment provider's daily statement against the ledger: every payment and refund the
provider lists must be one the ledger booked, for the same amount, and every one the ledger
booked through that provider that day must be on the statement. Pure: the bill's parsing and
the ledger's reading are I/O (payments/bills.py, ledger/statement_checks.py).

Lines are keyed by our own ids, which the provider echoes: a payment by its out_trade_no
(the payment id's token), a refund by its out_refund_no / out_request_no (refund_id)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

PAYMENT, REFUND = "payment", "refund"


@dataclass(frozen=True)
class BillLine:
    """One line of the provider's statement."""

    kind: str  # payment | refund
    ref: str  # our id as the provider echoes it
    amount_fen: int  # always positive; the kind says which way the money went
    fee_fen: int  # the provider's fee on it (negative: a fee given back with a refund)
    provider_no: str = ""  # the provider's own id


@dataclass(frozen=True)
class Booked:
    """One payment or refund as the ledger has it."""

    kind: str
    ref: str
    amount_fen: int
    on_day: bool  # booked within the statement's day (else only looked up by its ref)


@dataclass
class Matching:
    lines: int = 0
    matched: int = 0
    paid_fen: int = 0  # matched payments
    refunded_fen: int = 0  # matched refunds
    fees_fen: int = 0  # the provider's fees on every line
    other_day: int = 0  # on the statement, booked by the ledger on a neighbouring day
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def match(bill: Iterable[BillLine], booked: Iterable[Booked]) -> Matching:
    ledger = {(b.kind, b.ref): b for b in booked}
    result = Matching()
    seen: set[tuple[str, str]] = set()
    for line in bill:
        result.lines += 1
        result.fees_fen += line.fee_fen
        key = (line.kind, line.ref)
        if key in seen:
            result.problems.append(f"{line.kind} {line.ref}: twice on the statement")
            continue
        seen.add(key)
        found = ledger.get(key)
        if found is None:
            result.problems.append(
                f"{line.kind} {line.ref}: on the statement ({line.amount_fen} fen), "
                "not in the ledger"
            )
            continue
        if found.amount_fen != line.amount_fen:
            result.problems.append(
                f"{line.kind} {line.ref}: {line.amount_fen} fen on the statement, "
                f"{found.amount_fen} in the ledger"
            )
            continue
        result.matched += 1
        if line.kind == PAYMENT:
            result.paid_fen += line.amount_fen
        else:
            result.refunded_fen += line.amount_fen
        result.other_day += not found.on_day
    for b in ledger.values():
        if b.on_day and (b.kind, b.ref) not in seen:
            result.problems.append(
                f"{b.kind} {b.ref}: in the ledger ({b.amount_fen} fen), not on the statement"
            )
    return result
