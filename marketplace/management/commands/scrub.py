"""`manage.py scrub INPUT OUTPUT`: the scrubbing engine for pipelines, chunk by chunk, any supported format."""

import contextlib
import json
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from marketplace.dataio import ParseError, csv_writer, format_from_filename, iter_chunks, neutralise_formula

UNUSED_HEAVY = ("torch", "transformers")


@contextlib.contextmanager
def _heavy_hidden() -> Iterator[None]:
    """spaCy's thinc imports torch when it is installed, for GPU models the scrubber never uses (1.4 s of a small
    file's 5), and Presidio's import pulls transformers for a Hugging Face pipe it never runs here (0.9 s). While the
    command runs, both are marked absent, unless this process imported them already (the test suite); afterwards they
    can be imported as usual."""
    hidden = [name for name in UNUSED_HEAVY if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


class Command(BaseCommand):
    help = "Scrub personal data from a CSV/TSV/JSONL/Parquet file into another such file, with a JSON report."
    # A file-to-file tool that touches neither the database nor the URLs: the system checks would import every view
    # (and with them torch and transformers, a second of a small file's run) for nothing.
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--policy", help='JSON policy file, e.g. {"columns": {"notes": "drop"}}')
        parser.add_argument("--report", help="write the PII report (JSON) here")
        parser.add_argument("--chunk-rows", type=int, default=20_000)
        parser.add_argument(
            "--processes",
            type=int,
            default=DEFAULT_PROCESSES,
            help=f"scrub in this many forked processes (default: the CPU count up to 4, here {DEFAULT_PROCESSES})",
        )
        parser.add_argument(
            "--salt",
            default=os.environ.get("TESSERA_SCRUB_SALT"),
            help="secret for hashing and fakes; keep it to get the same output for the same input next time "
            "(default: $TESSERA_SCRUB_SALT, else random)",
        )

    def handle(self, *args, **options) -> None:
        with _heavy_hidden():
            self._scrub(**options)

    def _scrub(
        self,
        *args,
        input: str,
        output: str,
        policy: str | None,
        report: str | None,
        chunk_rows: int,
        processes: int,
        salt: str | None,
        **options,
    ) -> None:
        from marketplace.pii import Scrubber, ScrubPolicy  # here: see _heavy_hidden

        source, target = Path(input), Path(output)
        in_format, out_format = format_from_filename(source.name), format_from_filename(target.name)
        if in_format is None or out_format not in ("csv", "tsv", "jsonl", "parquet"):
            raise CommandError(
                "Read .csv, .tsv, .json, .jsonl, .parquet or .xlsx; write .csv, .tsv, .jsonl or .parquet."
            )
        if not source.exists():
            raise CommandError(f"{source} does not exist.")
        try:
            scrub_policy = ScrubPolicy.from_dict(json.loads(Path(policy).read_text()) if policy else {})
        except (OSError, ValueError) as exc:
            raise CommandError(f"Invalid policy: {exc}") from exc
        if not salt:
            salt = secrets.token_hex(32)
            self.stderr.write("No --salt given: hashes and fakes will differ from any other run.")
        scrubber = Scrubber(policy=scrub_policy, salt=salt.encode())
        try:
            with open(source, "rb") as handle:
                for index, chunk in enumerate(iter_chunks(handle, in_format, chunk_rows)):
                    if index == 0:
                        scrubber.fit(chunk.head(2000))
                    scrubber.observe(chunk)
            with open(source, "rb") as handle:
                rows = _write(
                    target, out_format, _scrubbed(scrubber, iter_chunks(handle, in_format, chunk_rows), processes)
                )
        except ParseError as exc:
            raise CommandError(str(exc)) from exc
        result = scrubber.report().to_dict()
        if report:
            Path(report).write_text(json.dumps(result, indent=2))
        self.stdout.write(
            json.dumps(
                {
                    "rows": rows,
                    "output": str(target),
                    "publishable": result["publishable"],
                    "residual_rate": result["residual"]["rate"],
                }
            )
        )


DEFAULT_PROCESSES = max(1, min(4, os.cpu_count() or 1))
SPLIT_MIN_ROWS = 1_000  # a smaller chunk is scrubbed in this process: a fork would cost more than it saves


def _scrubbed(scrubber, chunks, processes: int):
    """Scrubbed chunks in input order; groups of chunks go to forked workers (memory: 4 chunks per process). A chunk
    read from the file is split in one piece per process, so that a file of one chunk is scrubbed in parallel too."""
    from marketplace.pii.engine import transform_parallel

    batch = []
    for chunk in chunks:
        pieces = processes if processes > 1 and len(chunk) >= SPLIT_MIN_ROWS else 1
        step = -(-len(chunk) // pieces)
        batch.extend(chunk.iloc[start : start + step] for start in range(0, len(chunk), step))
        if len(batch) >= 4 * processes:
            yield from transform_parallel(scrubber, batch, processes)
            batch = []
    if batch:
        yield from transform_parallel(scrubber, batch, processes)


def _write(target: Path, fmt: str, chunks) -> int:
    rows = 0
    writer = None
    with open(target, "w" if fmt != "parquet" else "wb", newline="" if fmt != "parquet" else None) as handle:
        for chunk in chunks:
            rows += len(chunk)
            if fmt == "parquet":
                table = pa.Table.from_pandas(
                    chunk, schema=pa.schema([(c, pa.string()) for c in chunk.columns]), preserve_index=False
                )
                writer = writer or pq.ParquetWriter(handle, table.schema)
                writer.write_table(table)
            elif fmt == "jsonl":
                for record in chunk.to_dict(orient="records"):
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                if writer is None:
                    writer = csv_writer(handle, delimiter="\t" if fmt == "tsv" else ",")
                    writer.writerow([neutralise_formula(str(name)) for name in chunk.columns])
                writer.writerows(
                    [None if cell is None else neutralise_formula(str(cell)) for cell in row]
                    for row in chunk.itertuples(index=False, name=None)
                )
        if fmt == "parquet" and writer is not None:
            writer.close()
    return rows
