"""Pricing plans: what a listing charges and how metered use becomes money. Django-free.

A listing's plan is its base `price` (integer minor units; charged at purchase), its `terms.duration_days` (a licence
for a duration is a subscription) and its `pricing`:

    {"metered": {"per_1k_rows": int, "per_gb": int, "monthly_cap": int | None} | None,
     "trial": {"days": int | None, "rows": int | None} | None}

Metered use is billed per period (a calendar month) from usage records: rows read by synthesis and training jobs
(weights and epochs counted) at `per_1k_rows` per 1,000 rows, and bytes downloaded at `per_gb` per 10**9 bytes. The
cap bounds what one licence is billed for one month, across every invoice of that month. A trial is a free licence,
once per buyer organisation, for `days` days and/or `rows` rows read.
"""

from __future__ import annotations

from typing import Any

PLAN_KINDS = ("free", "one_off", "subscription", "metered", "base_plus_metered")
ROWS_UNIT = 1_000  # metered rows are priced per this many rows
BYTES_UNIT = 10**9  # and downloads per GB


def plan_kind(*, price: int, duration_days: int | None, metered: dict[str, Any] | None) -> str:
    """The plan's one-word kind: what the catalogue filters on."""
    if metered:
        return "base_plus_metered" if price > 0 else "metered"
    if price <= 0:
        return "free"
    return "subscription" if duration_days else "one_off"


def plan_snapshot(
    *, price: int, currency: str, duration_days: int | None, pricing: dict[str, Any] | None
) -> dict[str, Any]:
    """What a licence keeps of its listing's plan at purchase: later price changes never reach it."""
    pricing = pricing or {}
    metered = pricing.get("metered") or None
    return {
        "kind": plan_kind(price=price, duration_days=duration_days, metered=metered),
        "base_fee": price,
        "currency": currency,
        "duration_days": duration_days,
        "metered": dict(metered) if metered else None,
        "trial": dict(pricing["trial"]) if pricing.get("trial") else None,
    }


def metered_amount(*, rows: int, bytes_: int, metered: dict[str, Any] | None) -> int:
    """The uncapped charge, in minor units, for `rows` rows read and `bytes_` bytes downloaded. Each part rounds up
    to a whole minor unit, so a little use is never free under a priced plan."""
    if not metered:
        return 0
    rows_part = -(-rows * int(metered.get("per_1k_rows") or 0) // ROWS_UNIT)
    bytes_part = -(-bytes_ * int(metered.get("per_gb") or 0) // BYTES_UNIT)
    return rows_part + bytes_part


def capped(*, amount: int, already_billed: int, monthly_cap: int | None) -> int:
    """What may still be billed this month under the cap, given what earlier invoices of the month billed."""
    if monthly_cap is None:
        return amount
    return max(0, min(amount, monthly_cap - already_billed))
