from django.core.management import call_command

from marketplace.models import License, Listing, Organization


def test_demo_scrubs_publishes_and_licenses_and_is_idempotent(db, capsys):
    call_command("demo", "--rows", "60")
    call_command("demo", "--rows", "60")
    call_command("demo", "--if-empty")

    listing = Listing.objects.get()
    version = listing.dataset_version
    assert version.status == "ready" and version.row_count == 60
    names = {c["name"]: c for c in version.pii_report["columns"]}
    assert names["fake_first_name"]["kind"] == "direct_identifier"
    assert listing.status == "published" and License.objects.get().buyer.name == "Acme Models"
    assert Organization.objects.count() == 2
    assert "password tessera-demo-2026" in capsys.readouterr().out
