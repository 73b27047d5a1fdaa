"""`manage.py bench_ingest [--rows N]`: one large upload from upload to `ready` with 1, 2 and 3 `cpu` worker
processes, on one JSON line.

The file: N rows of the 15-column customer table of the PII benchmark (`marketplace.pii.benchdata`, Faker people
with e-mails, phones, national ids, cards, IBANs, addresses and free-text notes that mention them), written once
as CSV under TESSERA_HOME/bench and reused by later runs. Every arm uploads that same file through the same service
the API calls (`version_upload`) and waits for the version to be `ready`; its workers are real Celery workers
started for the arm (one process each, `--pool solo`), over the configured database, broker and store, with the
fan-out set to the arm's workers minus one. `rows_per_s` is rows over the seconds from upload to ready;
`peak_rss_mb` is the largest peak resident set (VmHWM) of any worker of the arm, and `uploader_peak_rss_mb` that of
this process, which plays the web process's part. `pass_seconds` is the ingest job's own account of its passes, and
`rss_mb_by_pass` the largest resident set of any worker seen (every half second) while the job said it was in each.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError

from marketplace.models import Dataset, DatasetVersion, Job, Membership, Organization
from marketplace.services.datasets import dataset_create, storage_is_local, version_upload

BLOCK_ROWS = 10_000
BENCH_ORGANIZATION = "bench-ingest"


def _block(args: tuple[int, int]) -> str:
    """Rows [start, start + rows) of the table as CSV (no header), one Faker seed per block."""
    from marketplace.pii.benchdata import generate_customers

    start, rows = args
    frame, _ = generate_customers(rows, seed=start // BLOCK_ROWS)
    frame["customer_id"] = [str(100_000 + start + i) for i in range(rows)]
    return frame.to_csv(index=False, header=False)


def bench_file(rows: int) -> Path:
    """The benchmark's CSV of `rows` rows, made once (in two processes) and kept for later runs."""
    from marketplace.pii.benchdata import generate_customers

    path = settings.TESSERA_HOME / "bench" / f"ingest-customers-{rows}.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(generate_customers(1, seed=0)[0].columns)
    blocks = [(start, min(BLOCK_ROWS, rows - start)) for start in range(0, rows, BLOCK_ROWS)]
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8", newline="") as out, multiprocessing.Pool(2) as pool:
        out.write(header + "\n")
        for text in pool.imap(_block, blocks):
            out.write(text)
    partial.replace(path)
    return path


def _memory_mb(pid: int, field: str = "VmHWM") -> float:
    """A memory figure of the process from /proc, in MB: its peak resident set (VmHWM) or its resident set now
    (VmRSS); 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _start_workers(count: int, arm: str, logs: Path) -> list[tuple[subprocess.Popen, Path]]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "TESSERA_INGEST_FANOUT": str(count - 1),
        "TESSERA_INGEST_CHUNK_ROWS": str(settings.TESSERA_INGEST_CHUNK_ROWS),
        "OMP_NUM_THREADS": "1",
    }
    workers = []
    for index in range(count):
        log = logs / f"worker-{arm}-{index}.log"
        command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", "cpu", "--pool", "solo"]
        command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        command += ["--hostname", f"bench-{arm}-{index}-{os.getpid()}@%h"]
        handle = open(log, "w")  # noqa: SIM115 - closed when the worker stops
        process = subprocess.Popen(command, env=environment, stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        workers.append((process, log))
    deadline = time.monotonic() + 180
    for process, log in workers:
        while " ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"A benchmark worker did not start; its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    return workers


def _stop_workers(workers: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _ in workers:
        process.send_signal(signal.SIGTERM)
    for process, _ in workers:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Command(BaseCommand):
    help = "Time one large upload to ready with 1, 2 and 3 cpu workers; print one JSON line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--workers", default="1,2,3", help="worker counts of the arms, comma-separated")
        parser.add_argument("--timeout", type=float, default=3600.0, help="seconds an arm may take")

    def handle(self, *args, rows: int, workers: str, timeout: float, **options) -> None:
        if rows < 1:
            raise CommandError("--rows must be at least 1.")
        try:
            arms = [int(part) for part in workers.split(",") if part.strip()]
        except ValueError as exc:
            raise CommandError(f"--workers takes worker counts such as 1,2,3, not {workers!r}.") from exc
        if not arms or min(arms) < 1:
            raise CommandError("--workers needs at least one count of 1 or more.")
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("Tasks run eagerly in these settings; the benchmark needs real workers.")

        started = time.perf_counter()
        path = bench_file(rows)
        prepared_s = time.perf_counter() - started
        dataset = self._dataset()
        results: dict[str, dict] = {}
        with tempfile.TemporaryDirectory(prefix="bench-ingest-", dir=settings.FILE_UPLOAD_TEMP_DIR) as logs:
            try:
                for count in arms:
                    results[str(count)] = self._arm(dataset, path, rows, count, Path(logs), timeout)
            finally:
                self._cleanup(dataset)
        line = {
            "benchmark": "ingest",
            "rows": rows,
            "columns": 15,
            "chunk_rows": settings.TESSERA_INGEST_CHUNK_ROWS,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "broker": "redis" if settings.REDIS_URL else "filesystem",
            "store": "local" if storage_is_local() else "s3",
            "cpus": os.cpu_count(),
            "workers": results,
            "uploader_peak_rss_mb": _memory_mb(os.getpid()),
            "file_seconds": round(prepared_s, 1),
        }
        one = results.get("1", {}).get("rows_per_s")
        for count in (2, 3):
            if one and str(count) in results:
                line[f"speedup_{count}"] = round(results[str(count)]["rows_per_s"] / one, 2)
        self.stdout.write(json.dumps(line))

    def _dataset(self) -> Dataset:
        organization, _ = Organization.objects.get_or_create(
            slug=BENCH_ORGANIZATION, defaults={"name": "Ingest benchmark"}
        )
        user, _ = get_user_model().objects.get_or_create(username=BENCH_ORGANIZATION)
        Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": Membership.Role.OWNER})
        return dataset_create(organization=organization, user=user, title="Ingest benchmark", tags=["benchmark"])

    def _arm(self, dataset: Dataset, path: Path, rows: int, count: int, logs: Path, timeout: float) -> dict:
        workers = _start_workers(count, str(count), logs)
        try:
            begun = time.perf_counter()
            with open(path, "rb") as handle:
                upload = UploadedFile(file=handle, name=path.name, size=path.stat().st_size)
                version = version_upload(dataset=dataset, user=dataset.created_by, upload=upload)
            by_pass: dict[str, float] = {}  # the largest resident set of any worker seen during each pass
            while True:
                version.refresh_from_db()
                if version.status != DatasetVersion.Status.PROCESSING:
                    break
                phase = Job.objects.filter(pk=version.job_id).values_list("message", flat=True).first() or ""
                phase = phase.split(" (")[0] or "Queued"
                now = max(_memory_mb(process.pid, "VmRSS") for process, _ in workers)
                by_pass[phase] = max(by_pass.get(phase, 0.0), now)
                if time.perf_counter() - begun > timeout:
                    raise CommandError(f"The {count}-worker arm did not finish in {timeout:.0f} s.")
                for process, log in workers:
                    if process.poll() is not None:
                        raise CommandError(f"A benchmark worker exited; its log:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            seconds = time.perf_counter() - begun
            if version.status != DatasetVersion.Status.READY:
                raise CommandError(f"The {count}-worker arm's version failed: {version.error}")
            if version.row_count != rows:
                raise CommandError(f"The {count}-worker arm's version holds {version.row_count} rows, not {rows}.")
            chunk_workers = version.job.result.get("chunk_workers", {})
            arm = {
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds, 1),
                "peak_rss_mb": max(_memory_mb(process.pid) for process, _ in workers),
                "chunks": sum(chunk_workers.get("scrub", {}).values()),
                "workers_that_collected": len(chunk_workers.get("collect", {})),
                "workers_that_scrubbed": len(chunk_workers.get("scrub", {})),
                "pass_seconds": version.job.result.get("seconds", {}),
                "rss_mb_by_pass": by_pass,
            }
            self.stderr.write(f"bench_ingest: {count} worker(s): {json.dumps(arm)}")
            return arm
        finally:
            _stop_workers(workers)

    def _cleanup(self, dataset: Dataset) -> None:
        from django.core.files.storage import default_storage

        for version in dataset.versions.all():
            for name in (version.data_path, version.raw_path):
                if name and default_storage.exists(name):
                    default_storage.delete(name)
        dataset.delete()
