"""`manage.py billing_run [--period YYYY-MM]`: bill the metered usage of a period, or, without `--period`, of every
period with unbilled usage up to now (the current month to date included). Safe to repeat; Celery beat runs the
service daily for the previous month."""

import json

from django.core.management.base import BaseCommand, CommandError

from marketplace.errors import ApplicationError
from marketplace.services.billing import billing_run, billing_run_open


class Command(BaseCommand):
    help = "Turn metered usage into invoices, charge them and post the ledger entries (idempotent); prints JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--period", default=None, help="YYYY-MM (default: every period with unbilled usage, up to now)"
        )

    def handle(self, *args, period: str | None, **options) -> None:
        try:
            summaries = [billing_run(period=period)] if period else billing_run_open()
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps({"periods": [summary.to_dict() for summary in summaries]}))
