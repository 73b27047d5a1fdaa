"""`manage.py bench_ingest` runs every arm with real worker processes on the same file and ends with its JSON line."""

import json
import os

import pytest

from tests.conftest import manage_py

pytestmark = pytest.mark.integration


def test_bench_ingest_times_each_arm_on_the_same_file_and_prints_one_json_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TESSERA_STORAGE_URL"}}
    env.update(
        {
            "TESSERA_HOME": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "TESSERA_INGEST_CHUNK_ROWS": "100",
        }
    )
    migrated = manage_py("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    done = manage_py("bench_ingest", "--rows", "400", "--workers", "1,2", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])

    assert (line["rows"], line["columns"], line["chunk_rows"]) == (400, 15, 100)
    assert set(line["workers"]) == {"1", "2"} and "speedup_2" in line and "speedup_3" not in line
    for arm in line["workers"].values():
        assert arm["chunks"] == 4 and arm["rows_per_s"] > 0 and 100 < arm["peak_rss_mb"] < 10_000
        assert set(arm["pass_seconds"]) == {"read", "scrub", "gather", "store"}
    assert line["workers"]["1"]["workers_that_scrubbed"] == 1 and line["workers"]["1"]["workers_that_collected"] == 0
    # The file is made once and kept; the benchmark's dataset is gone afterwards.
    assert (tmp_path / "bench" / "ingest-customers-400.csv").exists()
    assert not list((tmp_path / "media").rglob("*.parquet"))
