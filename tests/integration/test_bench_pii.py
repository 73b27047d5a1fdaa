"""`manage.py bench_pii` scores the engine against plain Presidio on its own table, the held-out clinic table and the
Chinese table, all three with the same engine path (chunks in forked processes), one JSON line each."""

import json
import os

import pytest

from tests.conftest import manage_py

pytestmark = pytest.mark.integration


def test_bench_pii_prints_a_line_per_table_with_the_engine_run_as_the_product_runs_it():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings", "HF_HUB_OFFLINE": "1"}
    args = ["--rows", "600", "--reference-rows", "4", "--held-out", "--held-out-rows", "600", "--lang", "zh"]
    done = manage_py("bench_pii", *args, "--processes", "2", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.strip().splitlines()]

    assert [line["benchmark"] for line in lines] == ["pii", "pii-held-out", "pii-zh"]
    for line in lines:
        assert line["engine_processes"] == 2 and line["speedup"] > 0
        assert line["presidio_per_cell"]["rows"] == 4
    own, held_out, zh = lines
    assert own["engine"]["rows"] == 600 and own["engine"]["leaked"] == 0
    # Held-out people, headers and notes: nothing leaks, with or without the name lists, and the words stay.
    for scores in (held_out["engine"], held_out["engine_without_name_lists"]):
        assert scores["leak_rate"] == 0.0 and scores["identifiers"] > 1000
    assert held_out["engine"]["note_words_kept"] >= 0.97 and held_out["residual"]["publishable"] is True
    assert zh["engine"]["leaks_by_entity"]["CN_RESIDENT_ID"] == 0.0 and zh["publishable"] is True


def test_bench_pii_scores_ten_other_scripts_and_says_which_it_cannot_read():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings", "HF_HUB_OFFLINE": "1"}
    args = ["--rows", "60", "--reference-rows", "2", "--held-out-rows", "120", "--lang", "scripts"]
    done = manage_py("bench_pii", *args, "--processes", "1", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["benchmark"] == "pii-other-scripts" and line["rows_per_locale"] == 120
    locales = line["locales"]
    assert len(locales) == 10
    for locale, scores in locales.items():
        assert scores["with_name_column"]["name_column_leak_rate"] == 0.0, locale
        assert scores["with_name_column"]["notes_phone_leak_rate"] == 0.0, locale
        unread = locale in ("ar_SA", "he_IL", "th_TH", "hi_IN")
        # where no rule reads the script, the report must not call the notes publishable
        assert scores["notes_only_publishable"] is not unread, locale
        neutral = scores["neutral_header_column"]
        assert neutral["kept_as_is_rate"] == 0.0 or neutral["refused_by_verification"], locale
