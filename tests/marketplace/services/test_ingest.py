import io
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage

from marketplace.models import DatasetVersion, IngestChunk, Job
from marketplace.pii.benchdata import generate_customers
from marketplace.services.datasets import dataset_create, version_upload
from marketplace.services.ingest import version_ingest
from tests.conftest import CUSTOMERS_CSV, org_of, parquet_bytes, upload_file


def _me() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


@pytest.fixture
def dataset(provider):
    return dataset_create(organization=org_of(provider), user=provider, title="Customers", tags=["crm"])


def _ingest(dataset, provider, content, name="customers.csv", django_capture_on_commit_callbacks=None, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        version = version_upload(dataset=dataset, user=provider, upload=upload_file(content, name), **kwargs)
    version.refresh_from_db()
    return version


def test_csv_upload_becomes_ready_with_schema_profile_preview_and_sha(
    dataset, provider, django_capture_on_commit_callbacks
):
    version = _ingest(
        dataset, provider, CUSTOMERS_CSV, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    assert version.status == DatasetVersion.Status.READY, version.error
    assert version.row_count == 4
    assert [c["name"] for c in version.schema] == ["customer_id", "name", "email", "phone", "plan", "amount", "notes"]
    types = {c["name"]: c["type"] for c in version.schema}
    assert types["customer_id"] == "integer" and types["amount"] == "float" and types["plan"] == "string"
    amount = next(c for c in version.schema if c["name"] == "amount")
    assert (amount["min"], amount["max"], amount["nulls"], amount["distinct"]) == (15.25, 120.5, 0, 4)
    plan = next(c for c in version.schema if c["name"] == "plan")
    assert plan["top_values"][0] == {"value": "gold", "count": 2}
    assert len(version.sha256) == 64
    assert version.preview["columns"] == [c["name"] for c in version.schema]
    assert len(version.preview["rows"]) == 4
    assert version.job.status == Job.Status.SUCCEEDED and version.job.progress == 1.0


def test_scrubbed_data_contains_no_names_or_emails_and_keeps_safe_columns(
    dataset, provider, django_capture_on_commit_callbacks
):
    version = _ingest(
        dataset, provider, CUSTOMERS_CSV, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    with default_storage.open(version.data_path, "rb") as handle:
        frame = pq.read_table(handle).to_pandas()
    text = frame.astype(str).to_csv()
    for secret in ["Alice Johnson", "Bruno Keller", "alice.johnson@example.com", "dmitri@example.org", "901820"]:
        assert secret not in text
    assert frame["plan"].tolist() == ["gold", "silver", "gold", "bronze"]
    assert frame["amount"].tolist() == [120.5, 80.0, 99.99, 15.25]
    reported = {c["name"]: c for c in version.pii_report["columns"]}
    assert reported["email"]["kind"] == "direct_identifier"
    assert reported["plan"]["action"] == "keep"
    for secret in ["Alice Johnson", "Bruno Keller", "alice.johnson@example.com"]:
        assert secret not in json.dumps(version.pii_report) and secret not in json.dumps(version.preview)


def test_raw_upload_is_deleted_after_scrubbing_unless_kept(dataset, provider, django_capture_on_commit_callbacks):
    deleted = _ingest(
        dataset, provider, CUSTOMERS_CSV, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    kept = _ingest(
        dataset,
        provider,
        CUSTOMERS_CSV,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
        keep_raw=True,
    )

    assert deleted.raw_path == "" and kept.raw_path != ""
    assert default_storage.exists(kept.raw_path)
    assert default_storage.listdir(f"raw/{dataset.pk}")[1] == [kept.raw_path.rsplit("/", 1)[1]]
    assert (deleted.number, kept.number) == (1, 2)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.csv", "a,b\n1,2\n3,4,5\n", "Line 3 has 3 fields but the header has 2"),
        ("bad-first-row.csv", "a,b\n1,2,3\n4,5\n", "Line 2 has more fields than the header (2)"),
        ("bad.jsonl", '{"a": 1}\n{"a": 2\n', "Line 2, column 8: invalid JSON"),
        ("list.jsonl", '{"a": 1}\n[1, 2]\n', "Line 2: expected a JSON object per line"),
        ("empty-header.csv", "a,,c\n1,2,3\n", "Column 2 has no name"),
        ("dupe.csv", "a,a\n1,2\n", "Column name 'a' appears twice"),
        ("header-only.csv", "a,b\n", "header row but no data rows"),
        ("latin1.csv", "name\nJos\xe9\n".encode("latin-1"), "not valid UTF-8"),
        ("broken.parquet", b"PAR1 not really parquet", "not a readable Parquet file"),
    ],
)
def test_malformed_uploads_fail_with_a_message_naming_the_problem(
    dataset, provider, django_capture_on_commit_callbacks, name, content, expected
):
    version = _ingest(
        dataset, provider, content, name, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    assert version.status == DatasetVersion.Status.FAILED
    assert expected in version.error
    assert version.job.status == Job.Status.FAILED and expected in version.job.error
    assert version.data_path == "" and version.row_count is None and version.preview == {}
    assert not default_storage.exists(f"versions/{version.pk}/job-{version.job_id}/data.parquet")
    assert version.raw_path == ""


def test_a_chinese_csv_in_gbk_becomes_a_ready_version_with_its_chinese_values(
    dataset, provider, django_capture_on_commit_callbacks
):
    rows = "城市,会员等级,月收入\n" + "".join(
        f"{c},{g},{9000 + i}\n" for i, (c, g) in enumerate([("北京", "金"), ("上海", "银")] * 30)
    )
    version = _ingest(
        dataset,
        provider,
        rows.encode("gbk"),
        "客户.csv",
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    assert version.status == DatasetVersion.Status.READY, version.error
    assert [c["name"] for c in version.schema] == ["城市", "会员等级", "月收入"]
    with default_storage.open(version.data_path, "rb") as handle:
        stored = pd.read_parquet(handle)
    assert set(stored["城市"]) == {"北京", "上海"} and set(stored["会员等级"]) == {"金", "银"}


def test_an_r_export_with_na_for_missing_values_keeps_its_numbers(
    dataset, provider, django_capture_on_commit_callbacks
):
    rows = '"","wage","hours","country"\n' + "".join(
        f'"{i}",{"NA" if i % 5 == 0 else 10 + i},{"NA" if i % 7 == 0 else 1.5 * i},"{"NA" if i % 2 else "NZ"}"\n'
        for i in range(1, 41)
    )
    version = _ingest(
        dataset, provider, rows, "r-export.csv", django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    assert version.status == DatasetVersion.Status.READY, version.error
    schema = {c["name"]: c for c in version.schema}
    assert (schema["wage"]["type"], schema["wage"]["nulls"]) == ("integer", 8)
    assert (schema["hours"]["type"], schema["hours"]["nulls"]) == ("float", 5)
    assert schema["country"]["type"] == "string" and schema["country"]["nulls"] == 0
    # R's write.csv names its row-names column "": it is kept as "rownames" (pandas would say "Unnamed: 0").
    assert list(schema)[0] == "rownames" and schema["rownames"]["type"] == "integer"


def test_jsonl_and_parquet_and_tsv_are_read_like_csv(dataset, provider, django_capture_on_commit_callbacks):
    frame = pd.DataFrame({"city": ["Oslo", "Lima", None], "score": [1, 2, 3], "ok": [True, False, True]})
    jsonl = "".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records"))
    tsv = frame.to_csv(sep="\t", index=False)
    versions = [
        _ingest(dataset, provider, content, name, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        for name, content in [("d.jsonl", jsonl), ("d.parquet", parquet_bytes(frame)), ("d.tsv", tsv)]
    ]

    for version in versions:
        assert version.status == DatasetVersion.Status.READY, version.error
        assert [(c["name"], c["type"], c["nulls"]) for c in version.schema] == [
            ("city", "string", 1),
            ("score", "integer", 0),
            ("ok", "boolean", 0),
        ]
        assert version.preview["rows"][2] == [None, 3, True]


def test_hex_codes_and_overlong_exponents_are_kept_as_text_and_read_back_without_crashing(
    dataset, provider, django_capture_on_commit_callbacks
):
    # pandas 2.3's number parser overflowed on an exponent of ten or more digits and crashed the whole process (a
    # hex code such as 81e3104049863b72 reads as 81 x 10^3104049863): in read_csv and in to_numeric alike.
    codes = ["81e3104049863b72", "4e492493924924", "9e1234567890", "12e3"]
    readings = ["1.5", "2e3", "7e4924939249", "-3"]  # each one number-shaped
    content = "batch,reading,weight\n" + "".join(
        f"{code},{reading},{i}.5\n" for i, (code, reading) in enumerate(zip(codes, readings, strict=True))
    )
    version = _ingest(
        dataset, provider, content, "batches.csv", django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    assert version.status == DatasetVersion.Status.READY, version.error
    types = {c["name"]: c["type"] for c in version.schema}
    # An exponent past any float's range is no number: the column stays text, each value as written.
    assert types == {"batch": "string", "reading": "string", "weight": "float"}
    with default_storage.open(version.data_path, "rb") as handle:
        frame = pd.read_parquet(handle)
    assert frame["batch"].tolist() == codes and frame["reading"].tolist() == readings
    # What a buyer does with the CSV download: read it back with pandas.
    from marketplace.dataio import export_stream

    with default_storage.open(version.data_path, "rb") as handle:
        body = b"".join(export_stream(handle, "csv"))
    assert pd.read_csv(io.BytesIO(body), dtype={"batch": str})["batch"].tolist() == codes
    assert pd.read_csv(io.BytesIO(body))["batch"].tolist() == codes


def test_running_ingest_twice_does_not_redo_a_finished_job(dataset, provider, django_capture_on_commit_callbacks):
    version = _ingest(
        dataset, provider, CUSTOMERS_CSV, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    sha = version.sha256

    assert version_ingest(job_id=version.job_id) is None
    version.refresh_from_db()
    assert (version.sha256, version.job.attempts) == (sha, 1)


def test_chunked_ingest_gives_the_same_data_as_one_chunk(
    dataset, provider, django_capture_on_commit_callbacks, settings
):
    rows = "".join(
        f"{i},Person {i},person{i}@example.com,+1 415 555 01{i % 100:02d},gold,{i}.5,ok\n" for i in range(120)
    )
    content = "customer_id,name,email,phone,plan,amount,notes\n" + rows
    settings.TESSERA_INGEST_CHUNK_ROWS = 25
    chunked = _ingest(dataset, provider, content, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    settings.TESSERA_INGEST_CHUNK_ROWS = 10_000
    whole = _ingest(dataset, provider, content, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    assert chunked.status == whole.status == DatasetVersion.Status.READY
    with default_storage.open(chunked.data_path, "rb") as a, default_storage.open(whole.data_path, "rb") as b:
        pd.testing.assert_frame_equal(pq.read_table(a).to_pandas(), pq.read_table(b).to_pandas())
    assert chunked.row_count == 120


def test_upload_refuses_unknown_file_types_and_oversized_files(dataset, provider, settings):
    from marketplace.errors import ApplicationError

    with pytest.raises(ApplicationError, match="Unsupported file type"):
        version_upload(dataset=dataset, user=provider, upload=upload_file("x", "data.xls"))
    settings.TESSERA_MAX_UPLOAD_MB = 0
    with pytest.raises(ApplicationError, match="limit is 0 MB") as excinfo:
        version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV))
    assert excinfo.value.status == 413
    assert DatasetVersion.objects.count() == 0


def test_large_upload_fans_chunks_out_to_other_workers_with_the_same_result(
    dataset, provider, django_capture_on_commit_callbacks, settings, monkeypatch
):
    from marketplace import tasks

    frame, _ = generate_customers(150, seed=9)
    content = frame.to_csv(index=False)
    helped = []
    original = tasks.scrub_chunks_task.delay

    def delay(job_id):
        result = original(job_id)
        helped.append(result.result)  # an EagerResult: the task has already run
        return result

    monkeypatch.setattr(tasks.scrub_chunks_task, "delay", delay)
    settings.TESSERA_INGEST_CHUNK_ROWS = 20
    settings.TESSERA_INGEST_FANOUT, settings.TESSERA_INGEST_FANOUT_MIN_CHUNKS = 2, 3
    fanned = _ingest(dataset, provider, content, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    settings.TESSERA_INGEST_FANOUT = 0
    alone = _ingest(dataset, provider, content, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    # Eager tasks run inside the ingest's call as they are sent (after the third chunk is read, before any chunk is
    # claimable), so they find nothing and do not wait; the ingest collects and scrubs through the same claims.
    # Real helpers sharing the work: tests/integration/test_worker.py.
    assert helped == [0, 0]
    assert fanned.job.result["chunk_workers"]["collect"] == {_me(): 5}  # chunks 0-2 were read before helpers
    assert fanned.job.result["chunk_workers"]["scrub"] == {_me(): 8}
    assert fanned.status == alone.status == DatasetVersion.Status.READY
    with default_storage.open(fanned.data_path, "rb") as a, default_storage.open(alone.data_path, "rb") as b:
        pd.testing.assert_frame_equal(pq.read_table(a).to_pandas(), pq.read_table(b).to_pandas())
    assert fanned.pii_report == alone.pii_report and fanned.row_count == 150
    assert not list((settings.TESSERA_HOME / "tmp").glob("ingest-*"))  # no work folder is left behind
    assert not IngestChunk.objects.exists() and not default_storage.exists(f"ingest/job-{fanned.job_id}")


def test_a_jsonl_key_first_seen_after_the_first_chunk_is_kept_and_scrubbed(
    dataset, provider, django_capture_on_commit_callbacks, settings
):
    """With 50-row chunks (tests.settings), a key first seen at row 56 vanished and the version was ready."""
    rows = [{"visit": i, "kind": ["a", "b"][i % 2]} for i in range(55)]
    rows += [{"visit": i, "kind": "a", "contact": f"person{i}@example.org"} for i in range(55, 80)]
    content = "".join(json.dumps(r) + "\n" for r in rows)

    version = _ingest(
        dataset, provider, content, "late.jsonl", django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    assert version.status == DatasetVersion.Status.READY, version.error
    assert [c["name"] for c in version.schema] == ["visit", "kind", "contact"]
    column = next(c for c in version.pii_report["columns"] if c["name"] == "contact")
    assert (column["entities"], column["action"]) == (["EMAIL_ADDRESS"], "hash")
    with default_storage.open(version.data_path, "rb") as handle:
        data = pd.read_parquet(handle)
    assert data["contact"].notna().sum() == 25 and not data["contact"].str.contains("@").any()


def test_a_cell_over_the_limit_fails_the_version_with_a_message_and_keeps_nothing(
    dataset, provider, django_capture_on_commit_callbacks, settings
):
    settings.TESSERA_INGEST_MAX_CELL_CHARS = 1_000
    content = "id,note\n1,fine\n2," + "lorem ipsum " * 200 + "\n"

    version = _ingest(dataset, provider, content, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    assert version.status == DatasetVersion.Status.FAILED
    assert "Row 2, column 'note' holds 2,400 characters; a cell may hold at most 1,000" in version.error
    assert version.job.status == Job.Status.FAILED and version.raw_path == "" and version.data_path == ""


def test_a_chunk_over_its_time_budget_in_a_helper_worker_fails_the_version(
    dataset, provider, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """The helper that hits the budget records why on the chunk; the ingest job reads it and fails the
    version with that message, instead of waiting for the chunk forever or handing it to the next worker."""
    from marketplace.pii import engine

    frame, _ = generate_customers(150, seed=9)
    settings.TESSERA_INGEST_CHUNK_ROWS = 20
    settings.TESSERA_INGEST_FANOUT, settings.TESSERA_INGEST_FANOUT_MIN_CHUNKS = 2, 3
    settings.TESSERA_INGEST_CHUNK_TIME_S = 5
    ticks = iter(range(0, 10**9, 10))  # every look at the clock is ten seconds later: every chunk is too slow
    monkeypatch.setattr(engine.time, "monotonic", lambda: next(ticks))

    version = _ingest(
        dataset,
        provider,
        frame.to_csv(index=False),
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    assert version.status == DatasetVersion.Status.FAILED
    assert "longer than its time budget of 5 s" in version.error
    assert not list((settings.TESSERA_HOME / "tmp").glob("ingest-*"))
    assert not IngestChunk.objects.exists() and not default_storage.exists(f"ingest/job-{version.job_id}")
