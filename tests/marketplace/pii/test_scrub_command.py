import json

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from tests.conftest import CUSTOMERS_CSV


@pytest.mark.parametrize("out_name", ["out.csv", "out.jsonl", "out.parquet", "out.tsv"])
def test_scrub_command_writes_scrubbed_output_and_report(tmp_path, out_name, capsys):
    source = tmp_path / "in.csv"
    source.write_text(CUSTOMERS_CSV)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"columns": {"amount": "drop"}}))
    target, report = tmp_path / out_name, tmp_path / "report.json"

    call_command(
        "scrub",
        str(source),
        str(target),
        "--policy",
        str(policy),
        "--report",
        str(report),
        "--salt",
        "s",
        "--chunk-rows",
        "2",
        "--processes",
        "2",
    )

    reader = {
        "csv": pd.read_csv,
        "tsv": lambda p: pd.read_csv(p, sep="\t"),
        "parquet": pd.read_parquet,
        "jsonl": lambda p: pd.read_json(p, lines=True),
    }[out_name.split(".")[1]]
    frame = reader(target)
    assert list(frame.columns) == ["customer_id", "name", "email", "phone", "plan", "notes"]
    assert "Alice Johnson" not in frame.to_csv() and "dmitri@example.org" not in frame.to_csv()
    assert frame["plan"].tolist() == ["gold", "silver", "gold", "bronze"]
    assert json.loads(report.read_text())["rows"] == 4
    assert json.loads(capsys.readouterr().out)["rows"] == 4


def test_scrub_command_reports_parse_errors_clearly(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("a,b\n1,2,3\n")
    with pytest.raises(CommandError, match="Line 2 has more fields than the header"):
        call_command("scrub", str(source), str(tmp_path / "out.csv"), "--salt", "s")


def test_scrub_command_in_parallel_processes_gives_the_same_output(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(CUSTOMERS_CSV)
    for processes in ("1", "2"):
        target = tmp_path / f"{processes}.csv"
        call_command("scrub", str(source), str(target), "--salt", "s", "--chunk-rows", "1", "--processes", processes)
    assert (tmp_path / "1.csv").read_text() == (tmp_path / "2.csv").read_text()


def test_a_file_of_one_chunk_is_split_between_the_processes_and_gives_the_same_output(tmp_path, monkeypatch):
    from marketplace.pii import engine
    from marketplace.pii.benchdata import generate_customers

    source = tmp_path / "in.csv"
    generate_customers(1_500, seed=3)[0].to_csv(source, index=False)
    sizes = []
    forked = engine.transform_parallel

    def record(scrubber, chunks, processes):
        sizes.append((processes, [len(chunk) for chunk in chunks]))
        return forked(scrubber, chunks, processes)

    monkeypatch.setattr(engine, "transform_parallel", record)
    for processes in ("1", "2"):
        call_command("scrub", str(source), str(tmp_path / f"{processes}.csv"), "--salt", "s", "--processes", processes)

    assert sizes == [(1, [1_500]), (2, [750, 750])]
    assert (tmp_path / "1.csv").read_text() == (tmp_path / "2.csv").read_text()


def test_scrub_command_csv_neutralises_formulas_and_quotes_carriage_returns(tmp_path):
    import csv

    source, target = tmp_path / "in.parquet", tmp_path / "out.csv"
    cell = "x\r@SUM(1+1)*cmd|' /C calc'!A0"
    pd.DataFrame({"plan": ["=HYPERLINK(1)", " =1+3", cell]}).to_parquet(source, index=False)

    call_command("scrub", str(source), str(target), "--salt", "s")

    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["plan"], ["'=HYPERLINK(1)"], ["' =1+3"], [cell]]


def test_a_small_file_is_scrubbed_without_loading_torch_or_transformers(tmp_path):
    """`manage.py scrub` on a 10-row file took 15 s, nearly all of it loading: the URL checks imported every view
    (transformers, torch), the admin imported the training services, and spaCy's thinc imported torch. None of
    them is needed to scrub a file; this runs the command in a fresh process and lists what it loaded."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("name,email,age\nAlice Smith,alice@example.com,30\nBob Jones,bob@example.org,41\n")
    code = (
        "import sys, django; django.setup(); from django.core.management import call_command; "
        f"call_command('scrub', {str(source)!r}, {str(target)!r}, '--salt', 's'); "
        "print(sorted(m for m in ('torch', 'transformers', 'training.services') if sys.modules.get(m)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    scrubbed = target.read_text()
    assert "Alice Smith" not in scrubbed and "alice@example.com" not in scrubbed


@pytest.mark.parametrize("out_name", ["out.json", "out.xlsx", "out.txt"])
def test_scrub_command_refuses_an_output_format_it_cannot_write(tmp_path, out_name):
    source = tmp_path / "in.csv"
    source.write_text("name,amount\nAnn,3\n")
    with pytest.raises(CommandError, match=r"write \.csv, \.tsv, \.jsonl or \.parquet"):
        call_command("scrub", str(source), str(tmp_path / out_name))
    assert not (tmp_path / out_name).exists()


def test_scrub_command_reads_a_json_array(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(
        '[{"name": "Ann Okafor", "email": "ann@example.com"}, {"name": "Bo Lind", "email": "bo@example.org"}]'
    )
    call_command("scrub", str(source), str(tmp_path / "out.csv"), "--salt", "s")
    written = (tmp_path / "out.csv").read_text()
    assert written.startswith("name,email") and "ann@example.com" not in written and "Okafor" not in written
