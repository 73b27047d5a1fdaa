"""Usage and billing: jobs and downloads append usage records; a billing run per period turns the metered ones into
invoices per buyer, charges them through the payment gateway and posts zero-sum ledger entries.

Invariants:
- a usage record is written once per key (per job, source version and kind; per download), however often the job
  or the stream is retried;
- a usage record is billed at most once: the run locks the unbilled records it takes and links them to its invoice
  in the same transaction, so a repeated or concurrent run finds nothing left to bill;
- the monthly cap of a licence bounds the sum of its lines over every invoice of that month;
- a failed charge suspends metered use of every licence on the invoice (entitlements read it) until it is paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from marketplace.errors import ApplicationError
from marketplace.models import (
    DatasetVersion,
    Invoice,
    InvoiceLine,
    Job,
    LedgerEntry,
    License,
    Notification,
    UsageRecord,
)
from marketplace.pricing import capped, metered_amount
from marketplace.services.audit import audit_record
from marketplace.services.payments import payment_gateway
from marketplace.services.webhooks import webhook_emit

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# The kinds a metered plan charges for; synthetic rows produced are recorded for the provider's view only.
BILLED_KINDS = (UsageRecord.Kind.ROWS_READ, UsageRecord.Kind.BYTES_DOWNLOADED)


def _billable(license: License, kind: str) -> bool:
    return bool((license.plan or {}).get("metered")) and not license.is_trial and kind in BILLED_KINDS


def usage_record(
    *,
    key: str,
    license: License,
    version: DatasetVersion,
    kind: str,
    quantity: int,
    subject_kind: str,
    subject_id: int | None = None,
    subject_name: str = "",
    job: Job | None = None,
    detail: dict[str, Any] | None = None,
) -> UsageRecord:
    """Append one usage record, or return the one already written under `key` (a retried job or stream)."""
    existing = UsageRecord.objects.filter(key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            record = UsageRecord.objects.create(
                key=key,
                license=license,
                buyer_id=license.buyer_id,
                provider_id=license.listing.organization_id,
                dataset_version=version,
                kind=kind,
                quantity=max(0, int(quantity)),
                job=job,
                subject_kind=subject_kind,
                subject_id=subject_id,
                subject_name=subject_name[:200],
                detail=detail or {},
                billable=_billable(license, kind),
            )
    except IntegrityError:  # the same key written by a concurrent retry
        return UsageRecord.objects.get(key=key)
    webhook_emit(
        organizations=[license.buyer, license.listing.organization],
        event_type="usage.recorded",
        data={
            "usage": record.pk,
            "license": license.pk,
            "version": version.pk,
            "kind": kind,
            "quantity": record.quantity,
            "subject": {"kind": subject_kind, "id": subject_id, "name": record.subject_name},
            "billable": record.billable,
        },
    )
    return record


def usage_record_job_reads(
    *,
    job: Job,
    reads: list[dict[str, Any]],
    subject_kind: str,
    subject_id: int | None,
    subject_name: str,
) -> list[UsageRecord]:
    """The rows a synthesis or training job read, one record per licensed source version. Each item of `reads` is
    {"version": pk, "license": pk | None, "rows": rows read (weights and epochs counted), "detail": {...}}; sources
    used without a licence (the buyer's own data) record nothing."""
    licensed = {item["license"] for item in reads if item.get("license")}
    licenses = {lic.pk: lic for lic in License.objects.select_related("listing", "buyer").filter(pk__in=licensed)}
    versions = DatasetVersion.objects.in_bulk([item["version"] for item in reads])
    records = []
    for item in reads:
        license = licenses.get(item.get("license"))
        version = versions.get(item["version"])
        if license is None or version is None or item.get("rows", 0) <= 0:
            continue
        records.append(
            usage_record(
                key=f"job:{job.pk}:version:{version.pk}:license:{license.pk}:{item.get('kind', 'rows_read')}",
                license=license,
                version=version,
                kind=item.get("kind", UsageRecord.Kind.ROWS_READ),
                quantity=item["rows"],
                subject_kind=subject_kind,
                subject_id=subject_id,
                subject_name=subject_name,
                job=job,
                detail=item.get("detail") or {},
            )
        )
    return records


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a "YYYY-MM" period in UTC."""
    match = PERIOD_RE.match(period or "")
    if match is None:
        raise ApplicationError(
            gettext("A billing period is written YYYY-MM, e.g. 2026-11; got %(period)r.") % {"period": period},
            extra={"field": "period"},
        )
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_period(now: datetime | None = None) -> str:
    now = now or timezone.now()
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@dataclass
class BillingSummary:
    period: str
    invoices: list[int] = field(default_factory=list)
    paid: int = 0
    failed: int = 0
    records_billed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "invoices": self.invoices,
            "paid": self.paid,
            "failed": self.failed,
            "records_billed": self.records_billed,
        }


def billing_run(*, period: str) -> BillingSummary:
    """Bill every unbilled metered usage record of `period`: one invoice per buyer and currency. Safe to repeat: a
    second run for the same period bills only usage recorded since (in an invoice with the next sequence)."""
    start, end = period_bounds(period)
    summary = BillingSummary(period=period)
    buyers = (
        UsageRecord.objects.filter(billable=True, invoice__isnull=True, created_at__gte=start, created_at__lt=end)
        .values_list("buyer_id", flat=True)
        .distinct()
    )
    # Invoices of the period left uncharged (their run stopped between issuing and charging) are charged first; the
    # gateway's idempotency key (the invoice number) makes a charge that did go through count once.
    invoices = [invoice_charge(invoice=i) for i in Invoice.objects.filter(period=period, status=Invoice.Status.ISSUED)]
    for buyer_id in sorted(set(buyers)):
        invoices += _invoice_buyer(buyer_id=buyer_id, period=period, start=start, end=end)
    for invoice in invoices:
        summary.invoices.append(invoice.pk)
        summary.records_billed += invoice.usage_records.count()
        if invoice.status == Invoice.Status.PAID:
            summary.paid += 1
        else:
            summary.failed += 1
    return summary


def billing_run_open(*, now: datetime | None = None) -> list[BillingSummary]:
    """Bill every period that has unbilled metered usage, the current month included (month to date): what an
    operator's `billing_run` without `--period` does. Later usage of the current month goes to a later invoice."""
    now = now or timezone.now()
    months = (
        UsageRecord.objects.filter(billable=True, invoice__isnull=True, created_at__lte=now)
        .datetimes("created_at", "month", tzinfo=UTC)
        .distinct()
    )
    periods = {month.strftime("%Y-%m") for month in months}
    periods |= set(Invoice.objects.filter(status=Invoice.Status.ISSUED).values_list("period", flat=True))
    return [billing_run(period=period) for period in sorted(periods)]


def _invoice_buyer(*, buyer_id: int, period: str, start: datetime, end: datetime) -> list[Invoice]:
    with transaction.atomic():
        # Locking the records serialises concurrent runs: the second waits, then finds them billed.
        records = list(
            UsageRecord.objects.select_for_update()
            .filter(buyer_id=buyer_id, billable=True, invoice__isnull=True, created_at__gte=start, created_at__lt=end)
            .order_by("pk")
        )
        if not records:
            return []
        by_license: dict[int, list[UsageRecord]] = {}
        for record in records:
            by_license.setdefault(record.license_id, []).append(record)
        licenses = License.objects.select_related("listing", "listing__organization", "buyer").in_bulk(by_license)
        by_currency: dict[str, list[int]] = {}
        for license_id in sorted(by_license):
            by_currency.setdefault(
                licenses[license_id].plan.get("currency") or licenses[license_id].currency, []
            ).append(license_id)
        invoices = []
        for currency, license_ids in sorted(by_currency.items()):
            sequence = (
                Invoice.objects.filter(buyer_id=buyer_id, period=period, currency=currency).aggregate(
                    n=Max("sequence")
                )["n"]
                or 0
            ) + 1
            invoice = Invoice.objects.create(
                buyer_id=buyer_id,
                period=period,
                sequence=sequence,
                currency=currency,
                total=0,
                status=Invoice.Status.ISSUED,
            )
            total = 0
            for license_id in license_ids:
                license = licenses[license_id]
                line_records = by_license[license_id]
                total += _invoice_line(invoice=invoice, license=license, records=line_records, period=period)
                UsageRecord.objects.filter(pk__in=[r.pk for r in line_records]).update(invoice=invoice)
            invoice.total = total
            invoice.save(update_fields=["total"])
            invoices.append(invoice)
    return [invoice_charge(invoice=invoice) for invoice in invoices]


def _invoice_line(*, invoice: Invoice, license: License, records: list[UsageRecord], period: str) -> int:
    rows = sum(r.quantity for r in records if r.kind == UsageRecord.Kind.ROWS_READ)
    bytes_ = sum(r.quantity for r in records if r.kind == UsageRecord.Kind.BYTES_DOWNLOADED)
    metered = license.plan.get("metered") or {}
    uncapped = metered_amount(rows=rows, bytes_=bytes_, metered=metered)
    already = (
        InvoiceLine.objects.filter(license=license, invoice__period=period)
        .exclude(invoice=invoice)
        .aggregate(n=Sum("amount"))["n"]
        or 0
    )
    amount = capped(amount=uncapped, already_billed=already, monthly_cap=metered.get("monthly_cap"))
    InvoiceLine.objects.create(
        invoice=invoice,
        license=license,
        provider=license.listing.organization,
        description=f"{license.listing.title}: {rows:,} rows read, {bytes_:,} bytes downloaded ({period})"[:300],
        rows=rows,
        bytes=bytes_,
        amount_uncapped=uncapped,
        amount=amount,
    )
    return amount


def invoice_charge(*, invoice: Invoice) -> Invoice:
    """Charge an invoice (again, after a failure): on success post its ledger entries and lift the suspensions it
    caused; on failure suspend metered use of its licences with the reason."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("buyer").get(pk=invoice.pk)
        if invoice.ledger_entries.exists():
            return invoice  # already paid and posted
        lines = list(invoice.lines.select_related("license", "license__listing", "provider"))
        license_ids = [line.license_id for line in lines]
        try:
            reference = ""
            if invoice.total > 0:
                reference = (
                    payment_gateway()
                    .charge(
                        amount=invoice.total,
                        currency=invoice.currency,
                        payer_reference=invoice.buyer.slug,
                        idempotency_key=f"invoice:{invoice.number}",
                    )
                    .reference
                )
        except ApplicationError as exc:
            invoice.status, invoice.failure_reason = Invoice.Status.FAILED, str(exc.message)
            reason = (
                f"invoice {invoice.number} ({invoice.total / 100:.2f} {invoice.currency}) could not be charged: "
                f"{invoice.failure_reason} Pay it to resume metered use."
            )
            License.objects.filter(pk__in=license_ids).update(metered_suspended_reason=reason)
            Notification.objects.create(
                organization=invoice.buyer, message=f"Metered use suspended: {reason}"[:500], link="/billing/"
            )
        else:
            invoice.status, invoice.payment_reference, invoice.failure_reason = Invoice.Status.PAID, reference, ""
            invoice.paid_at = timezone.now()
            _post_ledger(invoice=invoice, lines=lines)
            License.objects.filter(pk__in=license_ids, metered_suspended_reason__contains=invoice.number).update(
                metered_suspended_reason=""
            )
        invoice.save(update_fields=["status", "payment_reference", "failure_reason", "paid_at"])
        webhook_emit(
            organizations=[invoice.buyer],
            event_type="invoice.issued",
            data=invoice_data(invoice),
        )
        audit_record(
            action="invoice.paid" if invoice.status == Invoice.Status.PAID else "invoice.payment_failed",
            obj=invoice,
            organization=invoice.buyer,
            subject_organization=invoice.buyer,
            detail={"total": invoice.total, "currency": invoice.currency, "period": invoice.period},
        )
    return invoice


@transaction.atomic
def invoice_retry(*, invoice: Invoice) -> Invoice:
    """The buyer pays a failed invoice (e.g. after updating its payment method)."""
    if invoice.status == Invoice.Status.PAID:
        raise ApplicationError(gettext("Invoice %(number)s is already paid.") % {"number": invoice.number}, status=409)
    Invoice.objects.filter(pk=invoice.pk).update(attempts=invoice.attempts + 1)
    return invoice_charge(invoice=invoice)


def _post_ledger(*, invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Per line: the buyer's charge, the provider's payout and the platform's fee, summing to zero."""
    entries = []
    for line in lines:
        if line.amount <= 0:
            continue
        fee = line.amount * settings.TESSERA_PLATFORM_FEE_BPS // 10_000
        common = {"license": line.license, "invoice": invoice, "currency": invoice.currency}
        entries += [
            LedgerEntry(organization=invoice.buyer, kind=LedgerEntry.Kind.BUYER_CHARGE, amount=-line.amount, **common),
            LedgerEntry(
                organization=line.provider, kind=LedgerEntry.Kind.PROVIDER_PAYOUT, amount=line.amount - fee, **common
            ),
            LedgerEntry(organization=None, kind=LedgerEntry.Kind.PLATFORM_FEE, amount=fee, **common),
        ]
    LedgerEntry.objects.bulk_create(entries)


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice": invoice.pk,
        "number": invoice.number,
        "period": invoice.period,
        "currency": invoice.currency,
        "total": invoice.total,
        "status": invoice.status,
        "failure_reason": invoice.failure_reason,
        "lines": [
            {
                "license": line.license_id,
                "provider": line.provider.name,
                "rows": line.rows,
                "bytes": line.bytes,
                "amount_uncapped": line.amount_uncapped,
                "amount": line.amount,
            }
            for line in invoice.lines.select_related("provider")
        ],
    }


def license_expiries_announce(*, now: datetime | None = None) -> list[int]:
    """Periodic: announce (webhook `license.expired`) each licence whose term ran out since the last look, once."""
    now = now or timezone.now()
    due = list(
        License.objects.select_related("listing", "listing__organization", "buyer").filter(
            Q(expires_at__lte=now), status=License.Status.ACTIVE, expiry_announced_at__isnull=True
        )
    )
    announced = []
    for license in due:
        with transaction.atomic():
            if not License.objects.filter(pk=license.pk, expiry_announced_at__isnull=True).update(
                expiry_announced_at=now
            ):
                continue  # another sweep announced it
            webhook_emit(
                organizations=[license.buyer, license.listing.organization],
                event_type="license.expired",
                data={
                    "license": license.pk,
                    "listing": license.listing_id,
                    "buyer": license.buyer.name,
                    "expired_at": license.expires_at.isoformat(),
                    "trial": license.is_trial,
                },
            )
            announced.append(license.pk)
    return announced
