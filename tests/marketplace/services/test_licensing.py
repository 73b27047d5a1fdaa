import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import AccessRequest, AuditEvent, LedgerEntry, License
from marketplace.services.licensing import access_request_decide, license_revoke, listing_purchase
from marketplace.services.publishing import listing_reject, listing_submit, listing_update_version
from tests.conftest import make_listing, make_ready_version, org_of


@pytest.fixture
def listing(provider, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    return make_listing(provider, version, price=10_000, currency="EUR")


def test_paid_purchase_writes_a_zero_sum_ledger_and_an_audit_event(listing, buyer, settings):
    settings.TESSERA_PLATFORM_FEE_BPS = 1500
    license, created = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="k1")

    entries = {e.kind: (e.amount, e.organization_id) for e in LedgerEntry.objects.filter(license=license)}
    assert created and license.status == "active" and license.price == 10_000 and license.terms["download"] is True
    assert entries == {
        "buyer_charge": (-10_000, org_of(buyer).pk),
        "provider_payout": (8_500, listing.organization_id),
        "platform_fee": (1_500, None),
    }
    assert sum(amount for amount, _ in entries.values()) == 0
    assert AuditEvent.objects.filter(action="license.purchased", object_id=str(license.pk)).count() == 1
    assert license.payment_reference.startswith("test_")


def test_repeated_idempotency_key_returns_same_license(listing, buyer):
    first, created_first = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="k")
    again, created_again = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="k")
    other_key, created_other = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="x")

    assert (created_first, created_again, created_other) == (True, False, False)
    assert first.pk == again.pk == other_key.pk  # a second purchase while active returns the active licence
    assert License.objects.count() == 1 and LedgerEntry.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_parallel_purchases_with_one_key_give_one_license(provider, buyer, django_capture_on_commit_callbacks):
    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks), price=500)
    results, errors = [], []

    def purchase() -> None:
        try:
            license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="same")
            results.append(license.pk)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            # Each thread opened its own connection; close it so PostgreSQL can drop the test database afterwards.
            connection.close()

    threads = [threading.Thread(target=purchase) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1 and len(results) == 5
    assert License.objects.count() == 1 and LedgerEntry.objects.count() == 3
    assert sum(LedgerEntry.objects.values_list("amount", flat=True)) == 0


def test_approval_required_listing_files_an_access_request_then_grants(
    provider, buyer, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, requires_approval=True)

    with pytest.raises(ApplicationError, match="describe your intended use"):
        listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="a")
    request, created = listing_purchase(
        buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="a", intended_use="fraud model research"
    )
    assert created and isinstance(request, AccessRequest) and License.objects.count() == 0

    with pytest.raises(ApplicationError, match="why the request is denied"):
        access_request_decide(access_request=request, user=provider, approve=False)
    decided = access_request_decide(access_request=request, user=provider, approve=True)
    assert decided.status == "approved" and decided.license.buyer == org_of(buyer)
    with pytest.raises(ApplicationError, match="already approved"):
        access_request_decide(access_request=request, user=provider, approve=True)


def test_private_offer_is_invisible_to_others(provider, buyer, outsider, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, private_to=[org_of(buyer)])

    with pytest.raises(ApplicationError, match="not available") as excinfo:
        listing_purchase(buyer=org_of(outsider), user=outsider, listing=listing, idempotency_key="o")
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="b")
    assert excinfo.value.status == 404 and license.buyer == org_of(buyer)


def test_declined_payment_creates_nothing(listing, db):
    from marketplace.services.accounts import user_register

    decliner = user_register(username="d", password="correct-horse-battery", email="", organization="Decline Corp")
    with pytest.raises(ApplicationError, match="declined"):
        listing_purchase(buyer=org_of(decliner), user=decliner, listing=listing, idempotency_key="z")
    assert License.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_duration_sets_expiry_and_revocation_records_reason(provider, buyer, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, terms={"download": True, "duration_days": 30})
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="t")

    assert abs(license.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    revoked = license_revoke(license=license, operator=None, reason="provider withdrew consent")
    assert revoked.status == "revoked" and AuditEvent.objects.filter(action="license.revoked").count() == 1


def test_rejected_listing_keeps_the_reason_and_can_be_resubmitted(
    provider, django_capture_on_commit_callbacks, settings
):
    settings.TESSERA_AUTO_APPROVE = False
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, publish=False)
    listing = listing_submit(listing=listing, user=provider)
    assert listing.status == "pending_review"

    listing = listing_reject(listing=listing, operator=None, reason="The description promises columns it lacks.")
    assert (listing.status, listing.review_reason) == ("rejected", "The description promises columns it lacks.")
    assert listing_submit(listing=listing, user=provider).status == "pending_review"


def test_updating_the_listed_version_notifies_licensees(provider, buyer, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version)
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="u")
    from marketplace.services.datasets import version_upload
    from tests.conftest import CUSTOMERS_CSV, upload_file

    with django_capture_on_commit_callbacks(execute=True):
        newer = version_upload(dataset=version.dataset, user=provider, upload=upload_file(CUSTOMERS_CSV))
    newer.refresh_from_db()

    listing = listing_update_version(listing=listing, user=provider, version=newer)
    assert listing.dataset_version == newer
    assert org_of(buyer).notifications.get().message == "'Customer table' was updated to version 2."
