"""The scrubbing engine: classify columns once, then scrub any number of chunks the same way.

    scrubber = Scrubber(policy=ScrubPolicy.from_dict({}), salt=b"per-dataset secret")
    scrubber.fit(sample)                     # column decisions, made once
    for chunk in chunks: scrubber.observe(chunk)     # known identifier values, for propagation into free text
    for chunk in chunks: out = scrubber.transform(chunk)
    report = scrubber.report()

Chunks are DataFrames whose cells are `str` or None. Work is done per distinct value, so repeated values
(categories, recurring names) cost once.
"""

from __future__ import annotations

import gc
import math
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from marketplace.job_errors import JobInputError
from marketplace.pii import chinese, operators
from marketplace.pii.classify import (
    DIRECT,
    FREE_TEXT,
    QUASI,
    SAFE,
    ColumnDecision,
    classify_column,
    is_bare_words,
    is_measure,
    is_name_shaped,
)
from marketplace.pii.policy import ScrubPolicy
from marketplace.pii.scripts import unread_script
from marketplace.pii.text import KnownIdentifiers, TextScrubber, regex_spans, stable_key
from marketplace.pii.validators import fold_width
from marketplace.pii.verify import presidio_findings

# Identifier entities whose values are searched for again inside free text.
PROPAGATED = {
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "NATIONAL_ID",
    "UK_NINO",
    "PASSPORT",
    "DRIVER_LICENSE",
    "CREDIT_CARD",
    "IBAN_CODE",
    "ADDRESS",
    "USERNAME",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "IDENTIFIER",
}
# Only these are looked for in columns classified as safe: unmistakable shapes, so no false alarms on categories.
STRONG_IN_SAFE = {"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "UK_NINO"}
# Free text is scrubbed in slices of about this many characters, and the chunk's time budget is checked between them.
TEXT_SLICE_CHARS = 200_000
# Cells per column and chunk re-scanned through Presidio's recognizers: 2% of the distinct values, 20 to 100.
VERIFY_SAMPLE_SHARE, VERIFY_SAMPLE_MIN, VERIFY_SAMPLE_MAX = 0.02, 20, 100
# A free-text column with at least this share of its cells in a script no rule reads is reported, and blocks publishing
# until the provider drops it or confirms its scrubbing (action "redact" set explicitly): a few quoted words of
# Arabic in English notes do not block.
UNREAD_SHARE = 0.05
# A value that is one date, or a number of at most six digits, holds none of the identifiers Presidio's pattern
# recognizers look for (phones have seven digits or more): the re-scan skips it (a quarter of the held-out scrub was
# Presidio's phone matcher reading visit dates and amounts in twelve regions).
_DATE_OR_SMALL_NUMBER_RE = re.compile(
    r"\s*(?:\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?|\d{1,2}[./]\d{1,2}[./]\d{2,4}"
    r"|[+-]?\d{1,6}(?:[.,]\d{1,6})?)\s*"
)


@dataclass
class PiiReport:
    """What was found and done, per column; never contains a raw personal value."""

    columns: list[dict[str, Any]] = field(default_factory=list)
    residual: dict[str, Any] = field(default_factory=dict)
    k_anonymity: int | None = None
    quasi_identifiers: list[str] = field(default_factory=list)
    publishable: bool = True
    rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "residual": self.residual,
            "k_anonymity": self.k_anonymity,
            "quasi_identifiers": self.quasi_identifiers,
            "publishable": self.publishable,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PiiReport:
        return cls(
            columns=list(data.get("columns", [])),
            residual=dict(data.get("residual", {})),
            k_anonymity=data.get("k_anonymity"),
            quasi_identifiers=list(data.get("quasi_identifiers", [])),
            publishable=bool(data.get("publishable", True)),
            rows=int(data.get("rows", 0)),
        )


class ScrubTimeout(JobInputError):
    """A chunk took longer to scrub than its time budget: the input fails instead of holding a worker."""


class Scrubber:
    def __init__(
        self,
        *,
        policy: ScrubPolicy | None = None,
        salt: bytes = b"",
        use_ner: bool = True,
        chunk_time_budget_s: float | None = None,
    ) -> None:
        self.policy = policy or ScrubPolicy()
        # Seconds one `transform` may take, checked between columns and between slices of free text; None: no bound.
        self.chunk_time_budget_s = chunk_time_budget_s
        self._deadline: float | None = None
        self._chunk_rows = 0
        self.salt = salt
        self.text = TextScrubber(use_ner=use_ner)
        self.known = KnownIdentifiers()
        self.decisions: dict[str, ColumnDecision] = {}
        self.actions: dict[str, str] = {}
        self.counts: Counter = Counter()  # column -> cells changed
        self.entities: dict[str, Counter] = {}  # column -> entity -> spans found (free text and safe columns)
        self.rows = 0
        self.quasi_groups: Counter = Counter()
        self.residual_findings: Counter = Counter()
        self.residual_cells = 0
        # Free-text cells written in a script no rule reads (Arabic, Hebrew, Thai, Devanagari, ...): (column, script)
        # -> distinct cells, and column -> distinct cells scanned. Names in them stay, and the report says so.
        self.unread_cells: Counter = Counter()
        self.text_cells: Counter = Counter()
        # Columns left as they were: statistics over every row, for the check that no identifier column slipped by.
        self.kept_stats: dict[str, KeptColumn] = {}
        self._stopwords: frozenset[str] = frozenset()
        self._rng = random.Random(0)
        self._observed_up_front = False

    # -- column decisions ----------------------------------------------------------------------------------------
    def fit(self, sample: pd.DataFrame) -> dict[str, ColumnDecision]:
        self.decisions, self.actions = {}, {}
        for name in sample.columns:
            self._decide(str(name), sample[name])
        try:
            from spacy.lang.en.stop_words import STOP_WORDS

            self._stopwords = frozenset(STOP_WORDS)
        except ImportError:  # pragma: no cover - spaCy is a dependency
            self._stopwords = frozenset()
        return self.decisions

    def _decide(self, name: str, values: pd.Series) -> None:
        """Classify one column from its values and set the action the policy gives it."""
        decision = classify_column(name, values, ner=self.text.find if self.text.use_ner else None)
        self.decisions[name] = decision
        self.actions[name] = self.policy.action_for(name, decision.entity, decision.kind)

    def _require_fit(self, chunk: pd.DataFrame) -> None:
        if not self.decisions:
            self.fit(chunk)

    def observe(self, chunk: pd.DataFrame) -> None:
        """Collect identifier values, so that they are found again inside free text in every chunk.

        Once a caller has observed every chunk up front, `transform` no longer collects each chunk again. A column
        with no value in the sample the decisions were made on (a JSON key first seen late in the file) is decided
        on the first observed chunk that has values, before anything is transformed."""
        self.observe_columns(chunk)
        self._collect(chunk, self.known)

    def observe_columns(self, chunk: pd.DataFrame) -> None:
        """The first half of `observe`, cheap and in file order: decide the columns first seen with values in this
        chunk. After it, this chunk's identifiers can be collected anywhere (`collect_known`), because no later
        decision concerns a column that has values here."""
        self._observed_up_front = True
        self._require_fit(chunk)
        for name in chunk.columns:
            decision = self.decisions.get(str(name))
            if (decision is None or decision.evidence.get("values") == 0) and chunk[name].notna().any():
                self._decide(str(name), chunk[name])

    def collect_known(self, chunk: pd.DataFrame) -> KnownIdentifiers:
        """The second half of `observe`, for another worker: this chunk's identifier values, to be merged into the
        scrubber that reports with `absorb_known`, in chunk order."""
        known = KnownIdentifiers()
        self._collect(chunk, known)
        return known

    def absorb_known(self, known: KnownIdentifiers) -> None:
        self.known.merge(known)

    def release_known(self) -> None:
        """Free the collected identifiers once every chunk is scrubbed: the report does not need them, and a
        million-row upload holds hundreds of megabytes of them while its Parquet is gathered and profiled."""
        self.known = KnownIdentifiers()

    def _collect(self, chunk: pd.DataFrame, known: KnownIdentifiers) -> None:
        self._require_fit(chunk)
        for name, decision in self.decisions.items():
            if decision.kind == DIRECT and decision.entity in PROPAGATED and name in chunk:
                for value in chunk[name].dropna().unique():
                    known.add(str(value), decision.entity, stopwords=self._stopwords)

    # -- scrubbing -----------------------------------------------------------------------------------------------
    def transform(self, chunk: pd.DataFrame) -> pd.DataFrame:
        self._require_fit(chunk)
        if not self._observed_up_front:
            self._collect(chunk, self.known)
        out: dict[str, pd.Series] = {}
        budget = self.chunk_time_budget_s
        self._deadline = time.monotonic() + budget if budget else None
        self._chunk_rows = len(chunk)
        for name in chunk.columns:
            name = str(name)
            self._check_deadline()
            decision = self.decisions.get(name) or ColumnDecision(name, SAFE, None, 1.0, "column not in sample")
            action = self.actions.get(name, "keep")
            if action == "drop":
                self.counts[name] += int(chunk[name].notna().sum())
                continue
            series = chunk[name]
            if decision.kind == FREE_TEXT and action in ("redact", "replace"):
                out[name] = self._scrub_text(name, series)
            elif decision.kind == SAFE and action == "keep":
                out[name] = self._scrub_safe(name, series)
            elif action == "keep":
                out[name] = series
            else:
                entity = decision.entity or "PII"
                out[name] = self._map_unique(
                    series, lambda value, a=action, e=entity: operators.apply(a, value, salt=self.salt, entity=e)
                )
                self.counts[name] += int(series.notna().sum())
        result = pd.DataFrame(out, index=chunk.index)
        self.rows += len(chunk)
        self._track_quasi(result)
        self._verify(result)
        return result

    @staticmethod
    def _map_unique(series: pd.Series, function) -> pd.Series:
        uniques = series.dropna().unique()
        mapping = {value: function(str(value)) for value in uniques}
        return series.map(lambda value: None if value is None or value is pd.NA else mapping.get(value, value)).astype(
            object
        )

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise ScrubTimeout(
                f"Scrubbing a chunk of {self._chunk_rows:,} rows took longer than its time budget of "
                f"{self.chunk_time_budget_s:g} s. The file's free text is too long to scrub in time: shorten its "
                "longest text cells or split the file, and upload again."
            )

    def _scrub_text(self, name: str, series: pd.Series) -> pd.Series:
        uniques = [str(x) for x in series.dropna().unique()]
        redacted: list[str] = []
        start = 0
        while start < len(uniques):  # in slices, so that the time budget is checked while the text is long
            end, size = start, 0
            while end < len(uniques) and (end == start or size + len(uniques[end]) <= TEXT_SLICE_CHARS):
                size += len(uniques[end])
                end += 1
            done, counts = self.text.redact(uniques[start:end], self.known)
            redacted.extend(done)
            self.entities.setdefault(name, Counter()).update(counts)
            start = end
            self._check_deadline()
        mapping = dict(zip(uniques, redacted, strict=True))
        changed = {k for k, v in mapping.items() if k != v}
        self.counts[name] += int(series.isin(changed).sum()) if changed else 0
        return series.map(lambda value: None if value is None else mapping.get(value, value)).astype(object)

    def _scrub_safe(self, name: str, series: pd.Series) -> pd.Series:
        uniques = [str(x) for x in series.dropna().unique()]
        mapping = {}
        for value in uniques:
            if not any(ch == "@" or ch.isdigit() for ch in value):
                continue
            spans = [s for s in regex_spans(value) if s.entity in STRONG_IN_SAFE]
            if spans:
                mapping[value] = _replace_spans(value, spans)
                self.entities.setdefault(name, Counter()).update(s.entity for s in spans)
        if not mapping:
            return series
        self.counts[name] += int(series.isin(set(mapping)).sum())
        return series.map(lambda value: mapping.get(value, value)).astype(object)

    # -- verification --------------------------------------------------------------------------------------------
    def _track_quasi(self, frame: pd.DataFrame) -> None:
        quasi = [n for n, d in self.decisions.items() if d.kind in (QUASI,) and n in frame]
        if quasi:
            # Only the group sizes matter (k-anonymity), so a group is counted under a 64-bit key of its values.
            self.quasi_groups.update(
                stable_key("\x1f".join(row)) for row in frame[quasi].astype(str).itertuples(index=False, name=None)
            )

    def _verify(self, frame: pd.DataFrame) -> None:
        """Re-scan scrubbed cells: known identifiers must be gone everywhere outside identifier columns, and a
        sample goes through Presidio's own recognizers as an independent check. Columns kept as they were are
        profiled over every row, so an identifier column that the sample-based classification missed shows."""
        for name, decision in self.decisions.items():
            if name in frame and decision.kind in (SAFE, QUASI) and self.actions.get(name) == "keep":
                self.kept_stats.setdefault(name, KeptColumn()).update(frame[name])
        scanned = [n for n, d in self.decisions.items() if d.kind in (FREE_TEXT, SAFE) and n in frame]
        for name in scanned:
            values = [str(x) for x in frame[name].dropna().unique()]
            self.residual_cells += len(values)
            for value, spans in zip(values, self.known.spans_many(values), strict=True):
                # In safe columns a lone name part ("Baker", "Hunter") is a word, not a leak: only whole values count.
                if self.decisions[name].kind == SAFE:
                    spans = [s for s in spans if s.end - s.start == len(value.strip()) or " " in value[s.start : s.end]]
                if spans:
                    self.residual_findings[f"{name}:known_identifier"] += 1
            if self.decisions[name].kind == FREE_TEXT:
                self.text_cells[name] += len(values)
                self.unread_cells.update((name, script) for value in values if (script := unread_script(value)))
            size = min(VERIFY_SAMPLE_MAX, max(VERIFY_SAMPLE_MIN, int(len(values) * VERIFY_SAMPLE_SHARE)))
            sample = values if len(values) <= size else self._rng.sample(values, size)
            for value in sample:
                if not any(ch == "@" or ch.isdigit() for ch in value) or _DATE_OR_SMALL_NUMBER_RE.fullmatch(value):
                    continue
                # Presidio has no recognizer for Chinese, Taiwan or Hong Kong identity numbers: their check characters
                # are checked here, so a column that kept them is not reported clean.
                folded = fold_width(value)  # full-width digits ("１３８…") as the recognizers' ASCII ones
                for entity in (*presidio_findings(folded), *chinese.checked_identifiers(folded)):
                    self.residual_findings[f"{name}:{entity}"] += 1

    # -- chunks scrubbed elsewhere -------------------------------------------------------------------------------
    def transform_chunk(self, chunk: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Scrub one chunk and return, with it, only this chunk's counts (for `absorb` in the scrubber that reports).

        This scrubber's own counters are left as they were."""
        names = (
            "counts",
            "entities",
            "rows",
            "quasi_groups",
            "residual_findings",
            "residual_cells",
            "kept_stats",
            "unread_cells",
            "text_cells",
        )
        kept = {name: getattr(self, name) for name in names}
        self.counts, self.entities, self.rows = Counter(), {}, 0
        self.quasi_groups, self.residual_findings, self.residual_cells = Counter(), Counter(), 0
        self.kept_stats, self.unread_cells, self.text_cells = {}, Counter(), Counter()
        try:
            out = self.transform(chunk)
            state = {name: getattr(self, name) for name in names}
        finally:
            for name, value in kept.items():
                setattr(self, name, value)
        return out, state

    def absorb(self, state: dict[str, Any]) -> None:
        """Add the counts of a chunk scrubbed by a copy of this scrubber (`transform_chunk`) to this one's report."""
        self.counts.update(state["counts"])
        for name, found in state["entities"].items():
            self.entities.setdefault(name, Counter()).update(found)
        self.rows += state["rows"]
        self.quasi_groups.update(state["quasi_groups"])
        self.residual_findings.update(state["residual_findings"])
        self.residual_cells += state["residual_cells"]
        self.unread_cells.update(state.get("unread_cells", {}))
        self.text_cells.update(state.get("text_cells", {}))
        for name, stats in state.get("kept_stats", {}).items():
            self.kept_stats.setdefault(name, KeptColumn()).merge(stats)

    def report(self) -> PiiReport:
        columns = []
        for name, decision in self.decisions.items():
            found = self.entities.get(name, Counter())
            entities = (
                sorted(found) if decision.kind in (FREE_TEXT, SAFE) else [decision.entity] if decision.entity else []
            )
            columns.append(
                {
                    "name": name,
                    "kind": decision.kind,
                    "entities": entities,
                    "entity_counts": dict(found),
                    "action": self.actions.get(name, "keep"),
                    "count": int(self.counts[name]),
                    "confidence": decision.confidence,
                    "reason": decision.reason,
                    "evidence": decision.evidence,
                }
            )
        findings = int(sum(self.residual_findings.values()))
        rate = findings / self.residual_cells if self.residual_cells else 0.0
        quasi = [n for n, d in self.decisions.items() if d.kind == QUASI and self.actions.get(n) != "drop"]
        k = min(self.quasi_groups.values()) if self.quasi_groups else None
        low, high = wilson_interval(findings, self.residual_cells)
        blocking = [
            {
                "column": name,
                "reason": f"Column '{name}' was left as it is, but {reason}: it looks like an identifier column.",
                "override": {"columns": {name: "keep"}},
                "fix": {"columns": {name: "hash"}},
            }
            for name, stats in self.kept_stats.items()
            if self.policy.columns.get(name) != "keep" and (reason := stats.identifier_reason()) is not None
        ]
        unread = [
            {
                "column": name,
                "script": script,
                "share": round(count / self.text_cells[name], 3),
                "reason": (
                    f"Column '{name}' is free text, and {count / self.text_cells[name]:.0%} of its cells are "
                    f"written in {script} script, in which the engine finds no names: names in them stay."
                ),
                "override": {"columns": {name: "redact"}},
                "fix": {"columns": {name: "drop"}},
            }
            for (name, script), count in sorted(self.unread_cells.items())
            if self.text_cells[name]
            and count >= UNREAD_SHARE * self.text_cells[name]
            and self.policy.columns.get(name) != "redact"  # the provider checked the column and keeps it scrubbed
        ]
        return PiiReport(
            columns=columns,
            residual={
                "findings": findings,
                "cells_scanned": self.residual_cells,
                "rate": round(rate, 6),
                # 95% Wilson interval of the rate: a sample of a few hundred cells with no finding is not "0".
                "rate_interval_95": [round(low, 6), round(high, 6)],
                "threshold": self.policy.residual_threshold,
                "by_column": dict(self.residual_findings),
                "untreated_identifier_columns": blocking,
                "unread_text_columns": unread,
            },
            k_anonymity=k,
            quasi_identifiers=quasi,
            publishable=rate <= self.policy.residual_threshold and not blocking and not unread,
            rows=self.rows,
        )


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (Wilson 1927), sound at 0 findings where the normal one is not."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


KEPT_DISTINCT_CAP = 50_000  # distinct value keys remembered per kept column (about 2 MB)


@dataclass
class KeptColumn:
    """Whole-table statistics of a column kept as it is, mergeable across chunks: the second opinion on whether it
    identifies rows. It reads every row (the classification read a sample) and keeps 64-bit keys, never values."""

    values: int = 0
    with_digit: int = 0
    with_space: int = 0
    decimal: int = 0
    name_shaped: int = 0
    unread_words: int = 0  # one to four words in a script no rule reads (`classify.bare_words_rate`): names, maybe
    measures: int = 0  # dates, times, amounts and rates written as text (`classify.is_measure`)
    keys: set = field(default_factory=set)
    lengths: Counter = field(default_factory=Counter)
    low: int | None = None  # smallest and largest all-digit value
    high: int | None = None

    def update(self, series: pd.Series) -> None:
        """Count a chunk's values. Each distinct value is examined once and weighted by how often it occurs."""
        for value, count in series.dropna().astype(str).str.strip().value_counts().items():
            if not value:
                continue
            self.values += count
            self.with_digit += count * any(c.isdigit() for c in value)
            self.with_space += count * (" " in value)
            self.decimal += count * bool(_DECIMAL_RE.fullmatch(value))
            self.name_shaped += count * is_name_shaped(value)
            self.unread_words += count * bool(is_bare_words(value) and unread_script(value))
            self.measures += count * is_measure(value)
            self.lengths[min(len(value), 64)] += count
            if len(self.keys) < KEPT_DISTINCT_CAP:
                self.keys.add(stable_key(value))
            if value.isdigit() and len(value) <= 18:
                self._extend(int(value), int(value))

    def _extend(self, low: int | None, high: int | None) -> None:
        if low is not None:
            self.low = low if self.low is None else min(self.low, low)
        if high is not None:
            self.high = high if self.high is None else max(self.high, high)

    def merge(self, other: KeptColumn) -> None:
        self.values += other.values
        self.with_digit += other.with_digit
        self.with_space += other.with_space
        self.decimal += other.decimal
        self.name_shaped += other.name_shaped
        self.unread_words += other.unread_words
        self.measures += other.measures
        self.lengths.update(other.lengths)
        self.keys |= set(list(other.keys)[: max(0, KEPT_DISTINCT_CAP - len(self.keys))])
        self._extend(other.low, other.high)

    def identifier_reason(self) -> str | None:
        """Why the column looks like per-row identifier codes, or None: nearly every value distinct, short, with
        digits, no spaces, not decimal numbers, dates, amounts or rates, and not consecutive integers (an export's
        row key)."""
        seen = min(self.values, KEPT_DISTINCT_CAP)
        if self.values < 50 or not seen:
            return None
        uniqueness = len(self.keys) / seen
        if self.name_shaped >= 0.8 * self.values and uniqueness >= 0.3:
            return f"{self.name_shaped / self.values:.0%} of its {self.values} values are shaped like personal names"
        if self.unread_words >= 0.8 * self.values and uniqueness >= 0.3:
            return (
                f"{self.unread_words / self.values:.0%} of its {self.values} values are words in a script the engine "
                "does not read, as names would be"
            )
        typical = self.lengths.most_common(1)[0][0]
        if uniqueness < 0.95 or self.with_digit < 0.8 * self.values or self.with_space > 0.05 * self.values:
            return None
        if self.decimal > 0.5 * self.values or not 4 <= typical <= 40:
            return None
        if self.measures > 0.5 * self.values:
            return None  # one row per day, or incomes written "$48,210": distinct, but they identify nobody
        if self.low is not None and self.decimal == 0 and (self.high - self.low + 1) <= 3 * len(self.keys):
            return None  # consecutive integers
        if self.low is not None and typical < 7:
            return None  # short integers: counts, amounts, years
        return f"{uniqueness:.0%} of its {self.values} values are distinct codes with digits"


_DECIMAL_RE = re.compile(r"[+-]?\d+([.,]\d+)?([eE][+-]?\d+)?")


def _replace_spans(text: str, spans) -> str:
    pieces, cursor = [], 0
    for span in sorted(spans):
        if span.start < cursor:
            continue
        pieces.append(text[cursor : span.start])
        pieces.append(f"<{span.entity}>")
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def scrub(
    table: pd.DataFrame, policy: ScrubPolicy | None = None, *, salt: bytes = b""
) -> tuple[pd.DataFrame, PiiReport]:
    """Scrub a whole table in one pass."""
    table = _as_strings(table)
    scrubber = Scrubber(policy=policy, salt=salt)
    scrubber.fit(table.head(2000))
    scrubber.observe(table)
    out = scrubber.transform(table)
    return out, scrubber.report()


def scan(table: pd.DataFrame, policy: ScrubPolicy | None = None) -> PiiReport:
    """Detection only: what each column holds and how much personal data free text contains."""
    table = _as_strings(table)
    scrubber = Scrubber(policy=policy or ScrubPolicy())
    scrubber.fit(table.head(2000))
    scrubber.observe(table)
    for name, decision in scrubber.decisions.items():
        values = [str(x) for x in table[name].dropna().unique()]
        if decision.kind == FREE_TEXT:
            for spans in scrubber.text.find(values, scrubber.known):
                scrubber.entities.setdefault(name, Counter()).update(s.entity for s in spans)
        elif decision.kind in (DIRECT, QUASI):
            scrubber.counts[name] = int(table[name].notna().sum())
    scrubber.rows = len(table)
    report = scrubber.report()
    for column in report.columns:
        column["action"] = "none (scan only)"
    return report


def _as_strings(table: pd.DataFrame) -> pd.DataFrame:
    out = table.astype(object).where(pd.notna(table), None)
    return out.map(lambda v: v if v is None or isinstance(v, str) else str(v))


_WORKER_SCRUBBER: Scrubber | None = None


def _transform_in_worker(chunk: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    scrubber = _WORKER_SCRUBBER
    assert scrubber is not None
    return scrubber.transform_chunk(chunk)


def transform_parallel(scrubber: Scrubber, chunks: list[pd.DataFrame], processes: int) -> list[pd.DataFrame]:
    """Scrub chunks in `processes` forked workers with the fitted scrubber (decisions and known identifiers made
    once, up front, so every chunk gets the same treatment); the parent's report includes every chunk.

    For command-line and benchmark use: a Celery prefork worker cannot fork children of its own (ingest fans chunks
    out as Celery tasks instead, see `marketplace.services.ingest_chunks`)."""
    import multiprocessing

    global _WORKER_SCRUBBER
    if processes <= 1 or len(chunks) <= 1:
        return [scrubber.transform(chunk) for chunk in chunks]
    _WORKER_SCRUBBER = scrubber
    # Every object alive now moves to a generation the collector never scans: a forked worker's collections would
    # otherwise walk (and so copy, page by page) the whole inherited heap of word lists, models and known values.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.map(_transform_in_worker, chunks)
    finally:
        gc.unfreeze()
        _WORKER_SCRUBBER = None
    for _, state in results:
        scrubber.absorb(state)
    return [out for out, _ in results]
