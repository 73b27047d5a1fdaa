"""`manage.py billing_run [--period YYYY-MM]`: bill the metered usage of a period (default: last month). Safe to
repeat; Celery beat runs the same service daily for the previous month."""

import json

from django.core.management.base import BaseCommand, CommandError

from marketplace.errors import ApplicationError
from marketplace.services.billing import billing_run, previous_period


class Command(BaseCommand):
    help = "Turn a period's metered usage into invoices, charge them and post the ledger entries (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--period", default=None, help="YYYY-MM (default: the previous calendar month)")

    def handle(self, *args, period: str | None, **options) -> None:
        try:
            summary = billing_run(period=period or previous_period())
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(summary.to_dict()))
