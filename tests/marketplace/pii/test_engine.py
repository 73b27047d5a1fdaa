import gc
import json
import re

import pandas as pd
import pytest

from marketplace.pii import Scrubber, ScrubPolicy, operators, scan, scrub
from marketplace.pii.benchdata import generate_customers, leak_report
from marketplace.pii.classify import classify_column
from marketplace.pii.operators import generalize_value, hash_value, mask_value, replace_value


@pytest.mark.parametrize(
    ("header", "values", "kind", "entity"),
    [
        ("Nachname", ["Müller", "Schmidt"], "direct_identifier", "PERSON"),
        ("correo", ["a@b.es", "c@d.es"], "direct_identifier", "EMAIL_ADDRESS"),
        ("telefono", ["06 1234 5678", "06 8765 4321"], "direct_identifier", "PHONE_NUMBER"),
        ("contact", ["x@example.com", "y@example.org", "z@example.net"], "direct_identifier", "EMAIL_ADDRESS"),
        ("ref", ["4111 1111 1111 1111", "5500 0000 0000 0004"], "direct_identifier", "CREDIT_CARD"),
        ("clinic_name", ["clinical lab", "inpatient ward a"], "safe", None),
        ("PostCode", ["SW1A 1AA", "EC1A 1BB"], "quasi_identifier", "ZIP_CODE"),
        ("dateOfBirth", ["1980-01-02", "1975-12-30"], "direct_identifier", "DATE_OF_BIRTH"),
        ("comments", ["The parcel arrived late and damaged, please refund", "ok"], "free_text", None),
        ("plan", ["gold", "silver", "gold"], "safe", None),
        ("amount", ["12.50", "99.00"], "safe", None),
    ],
)
def test_columns_are_classified_from_header_and_values(header, values, kind, entity):
    decision = classify_column(header, pd.Series(values, dtype=object))
    assert (decision.kind, decision.entity) == (kind, entity)


def test_hashing_is_salted_and_consistent():
    assert hash_value("ana@example.com", salt=b"a") == hash_value("ana@example.com", salt=b"a")
    assert hash_value("ana@example.com", salt=b"a") != hash_value("ana@example.com", salt=b"b")
    assert len(hash_value("ana@example.com", salt=b"a")) == 16


def test_masking_keeps_the_last_four_and_separators():
    assert mask_value("4111-1111-1111-1234") == "****-****-****-1234"


@pytest.mark.parametrize("salt", [bytes([i]) for i in range(40)])
def test_replaced_names_share_no_part_with_the_real_name(salt):
    surrogate = replace_value("Alice Johnson", salt=salt, entity="PERSON")
    assert not {"alice", "johnson"} & {token.lower() for token in surrogate.split()}


def test_replacement_is_consistent_within_a_dataset_and_keeps_the_format():
    first = replace_value("Alice Johnson", salt=b"s", entity="PERSON")
    assert first == replace_value("Alice Johnson", salt=b"s", entity="PERSON")
    assert first != "Alice Johnson" and len(first.split()) == 2
    phone = replace_value("+49 30 901820", salt=b"s", entity="PHONE_NUMBER")
    assert phone.startswith("+49 ") and len(phone) == len("+49 30 901820") and phone != "+49 30 901820"


def test_surrogates_are_the_same_in_a_fresh_process_and_look_like_their_kind():
    # Chunks of one upload are scrubbed by different workers: the surrogate parts must not depend on the process.
    values = [("Maria Rossi", "PERSON"), ("m.rossi@mail.it", "EMAIL_ADDRESS"), ("Via Roma 12", "ADDRESS")]
    before = [replace_value(v, salt=b"s", entity=e) for v, e in values]
    operators._pools.cache_clear()
    operators._replace_cached.cache_clear()

    assert [replace_value(v, salt=b"s", entity=e) for v, e in values] == before
    person, email, address = before
    assert len(person.split()) == 2 and "rossi" not in person.lower()
    assert re.fullmatch(r"[a-z]+\.[a-z]+\d{1,3}@example\.(com|org|net)", email)
    assert re.search(r"\d", address) and not address.startswith("Via Roma")
    # Distinct inputs rarely share a surrogate (the address space is street names x house numbers per locale).
    addresses = {replace_value(f"{i} High Street", salt=b"s", entity="ADDRESS") for i in range(2000)}
    assert len(addresses) > 1900


@pytest.mark.parametrize(
    ("value", "entity", "expected"),
    [
        ("1984-03-07", "DATE_OF_BIRTH", "1984"),
        ("94107", "ZIP_CODE", "941**"),
        ("37", "AGE", "30-39"),
        ("95", "AGE", "90+"),
    ],
)
def test_generalisation(value, entity, expected):
    assert generalize_value(value, entity=entity) == expected


CUSTOMERS = pd.DataFrame(
    {
        "id": ["1", "2", "3"],
        "name": ["Alice Johnson", "Bruno Keller", "Alice Johnson"],
        "email": ["alice@example.com", "bruno@example.de", "alice@example.com"],
        "plan": ["gold", "silver", "gold"],
        "notes": ["Alice asked for a refund", "Bruno Keller wrote from bruno@example.de", None],
    },
    dtype=object,
)


def test_scrub_removes_identifiers_keeps_safe_columns_and_joins():
    out, report = scrub(CUSTOMERS, salt=b"dataset-1")

    text = out.to_csv()
    for secret in ["Alice", "Johnson", "Bruno", "Keller", "alice@example.com", "bruno@example.de"]:
        assert secret not in text
    assert out["plan"].tolist() == ["gold", "silver", "gold"] and out["id"].tolist() == ["1", "2", "3"]
    assert out.at[0, "email"] == out.at[2, "email"] and out.at[0, "name"] == out.at[2, "name"]
    assert out.at[2, "notes"] is None
    assert "Alice" not in json.dumps(report.to_dict()) and report.publishable


def test_policy_overrides_per_column_and_entity():
    policy = ScrubPolicy.from_dict({"columns": {"notes": "drop", "plan": "hash"}, "entities": {"PERSON": "redact"}})
    out, report = scrub(CUSTOMERS, policy, salt=b"x")
    assert "notes" not in out.columns
    assert out["name"].tolist() == ["<PERSON>"] * 3
    assert out["plan"].tolist()[0] != "gold"
    assert {c["name"]: c["action"] for c in report.columns}["notes"] == "drop"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"columns": {"a": "explode"}}, "unknown action"),
        ({"colums": {}}, "unknown policy keys"),
        ({"residual_threshold": 2}, "between 0 and 1"),
    ],
)
def test_invalid_policies_are_rejected(policy, message):
    with pytest.raises(ValueError, match=message):
        ScrubPolicy.from_dict(policy)


def test_chunked_processing_equals_one_pass():
    table, _ = generate_customers(90, seed=5)
    table = table.astype(object)
    whole, _ = scrub(table, salt=b"k")

    scrubber = Scrubber(policy=ScrubPolicy(), salt=b"k")
    scrubber.fit(table.head(2000))
    chunks = [table.iloc[i : i + 20] for i in range(0, len(table), 20)]
    for chunk in chunks:
        scrubber.observe(chunk)
    chunked = pd.concat([scrubber.transform(chunk) for chunk in chunks])

    pd.testing.assert_frame_equal(whole, chunked)
    assert scrubber.report().rows == 90


def test_leak_rate_regression_on_a_generated_international_table():
    table, labels = generate_customers(150, seed=11)
    out, report = scrub(table.astype(object), salt=b"regression")
    scores = leak_report(table, out, labels)

    assert scores["leak_rate"] <= 0.005, scores
    assert scores["safe_cells_unchanged"] >= 0.99, scores
    assert report.k_anonymity is not None and report.quasi_identifiers == ["zip_code", "city"]


def test_scan_reports_without_changing_anything():
    report = scan(CUSTOMERS)
    by_name = {c["name"]: c for c in report.columns}
    assert by_name["email"]["entities"] == ["EMAIL_ADDRESS"] and by_name["email"]["count"] == 3
    assert set(by_name["notes"]["entities"]) >= {"PERSON", "EMAIL_ADDRESS"}


def test_birth_dates_from_their_column_are_removed_from_notes():
    table = pd.DataFrame(
        {"dob": ["1984-03-07", "1990-11-02"], "notes": ["customer since 2019, 1984-03-07 on file", "nothing to add"]},
        dtype=object,
    )
    out, _ = scrub(table, salt=b"d")
    assert out["dob"].tolist() == ["1984", "1990"]
    assert out.at[0, "notes"] == "customer since 2019, <DATE_OF_BIRTH> on file"


def test_parallel_chunks_equal_one_process_and_report_every_chunk():
    from marketplace.pii.engine import transform_parallel

    table, _ = generate_customers(60, seed=9)
    table = table.astype(object)
    chunks = [table.iloc[i : i + 15] for i in range(0, 60, 15)]
    serial, parallel = Scrubber(salt=b"p"), Scrubber(salt=b"p")
    for scrubber in (serial, parallel):
        scrubber.fit(table)
        for chunk in chunks:
            scrubber.observe(chunk)

    expected = pd.concat([serial.transform(chunk) for chunk in chunks])
    got = pd.concat(transform_parallel(parallel, chunks, processes=2))

    pd.testing.assert_frame_equal(expected, got)
    assert parallel.report().to_dict() == serial.report().to_dict()
    assert gc.get_freeze_count() == 0  # the heap frozen for the forked workers is collectable again


def test_the_independent_rescan_skips_lone_dates_and_small_numbers_but_reads_everything_else(monkeypatch):
    """Presidio's phone matcher reading visit dates and amounts in twelve regions was a quarter of a clinic table's
    scrub; a lone date or a number of six digits or fewer holds no identifier, anything longer is still re-scanned
    and what Presidio finds there still counts."""
    from marketplace.pii import engine

    read = []

    def findings(value, **_):
        read.append(value)
        return ["PHONE_NUMBER"] if value.startswith("+") else []

    monkeypatch.setattr(engine, "presidio_findings", findings)
    kept = ["2024-03-15", "17.03.2024", "123.45", "-7", "+263 77 123 4567", "1234567.5", "ref 12345678"]
    scrubber = Scrubber(salt=b"v", policy=ScrubPolicy.from_dict({"columns": {"misc": "keep"}}))
    table = pd.DataFrame({"misc": kept * 3}, dtype=object)
    scrubber.fit(table)
    scrubber.transform(table)
    assert sorted(read) == sorted(["+263 77 123 4567", "1234567.5", "ref 12345678"])
    assert scrubber.residual_findings["misc:PHONE_NUMBER"] == 1
