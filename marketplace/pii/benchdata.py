"""A labelled international customer table for leak-rate tests and the benchmark.

Identities come from Faker in several locales and, where presidio-evaluator is installed, from its fake-identity
sample (FakeNameGenerator, many name sets); free-text notes are filled from presidio-evaluator's templates (or a
small built-in set) with the row's own identifiers, so propagation and NER are both exercised.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass

import pandas as pd
from faker import Faker

from marketplace.pii.lexicon import evaluator_raw_data

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL"]
DIRECT_COLUMNS = [
    "full_name",
    "email",
    "phone",
    "national_id",
    "card_number",
    "iban",
    "street_address",
    "date_of_birth",
]
SAFE_COLUMNS = ["customer_id", "occupation", "plan", "monthly_amount", "city"]
PLANS = ["basic", "plus", "premium", "enterprise"]
BUILTIN_TEMPLATES = [
    "Customer {{person}} called about a late invoice.",
    "Please call {{first_name}} back on {{phone_number}} before Friday.",
    "{{person}} asked to update the address to {{address}}.",
    "Refund sent to {{iban}} after {{first_name}} complained.",
    "Card {{credit_card_number}} reported stolen by {{person}}.",
    "Wrote from {{email}} asking for the {{plan}} plan.",
    "No issues reported.",
    "Renewed for another year, happy with the service.",
    "Born {{date_of_birth}}, {{person}} needs the senior discount.",
    "Verified identity with ID {{ssn}}; customer {{last_name}} is fine.",
]


@dataclass(frozen=True)
class Label:
    row: int
    column: str
    value: str  # the identifier as it was written into the cell
    entity: str


# Template fields that carry the row's own identifiers (labelled for scoring); other fields get neutral fillers.
IDENTIFIER_FIELDS = (
    "person",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "address",
    "credit_card_number",
    "iban",
    "ssn",
    "date_of_birth",
)


def _templates() -> list[str]:
    path = evaluator_raw_data("templates.txt")
    if path is None:
        return BUILTIN_TEMPLATES
    # Templates may only use fields the generator can fill: the row's identifiers and a few neutral fillers.
    usable = {*IDENTIFIER_FIELDS, "city", "country", "organization", "job", "age", "year"}
    # The file writes line breaks inside a template as a literal backslash-n.
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = [ln.strip().replace("\\n", "\n") for ln in text.splitlines() if "{{" in ln]
    keep = [ln for ln in lines if set(re.findall(r"{{(\w+)}}", ln)) <= usable]
    return keep + BUILTIN_TEMPLATES


def _fng_identities() -> list[dict[str, str]]:
    path = evaluator_raw_data("FakeNameGenerator.com_3000.csv")
    if path is None:
        return []
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        return [row for row in csv.DictReader(handle) if row.get("GivenName") and row.get("Surname")]


def generate_customers(rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, list[Label]]:
    """A 15-column customer table and the labels of every direct identifier written into it."""
    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for index, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 100 + index)
    templates = _templates()
    fng = _fng_identities()
    records, labels = [], []
    for row in range(rows):
        locale = rng.choice(LOCALES)
        fake = fakers[locale]
        if fng and rng.random() < 0.3:
            identity = rng.choice(fng)
            first, last = identity["GivenName"], identity["Surname"]
        else:
            first, last = fake.first_name(), fake.last_name()
        name = f"{first} {last}"
        email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{fake.free_email_domain()}".lower()
        phone = fake.phone_number()
        try:
            national_id = fake.ssn()
        except AttributeError:
            national_id = fakers["en_US"].ssn()
        card = fake.credit_card_number()
        iban = fake.iban()
        address = fake.street_address().replace("\n", ", ")
        dob = fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat()
        values = {
            "person": name,
            "name": name,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone_number": phone,
            "address": address,
            "credit_card_number": card,
            "iban": iban,
            "ssn": national_id,
            "date_of_birth": dob,
            "plan": rng.choice(PLANS),
        }
        template = rng.choice(templates)
        note = template
        note_labels = []
        for key in re.findall(r"{{(\w+)}}", template):
            if key in values:
                value = values[key]
                if key in IDENTIFIER_FIELDS:
                    note_labels.append((value, key))
            else:
                value = _filler(fake, key)
            note = note.replace("{{" + key + "}}", value, 1)
        record = {
            "customer_id": str(100000 + row),
            "full_name": name,
            "email": email,
            "phone": phone,
            "national_id": national_id,
            "card_number": card,
            "iban": iban,
            "street_address": address,
            "date_of_birth": dob,
            "zip_code": fake.postcode(),
            "city": fake.city(),
            "occupation": fakers["en_US"].job(),
            "plan": values["plan"],
            "monthly_amount": f"{rng.uniform(5, 500):.2f}",
            "notes": note,
        }
        records.append(record)
        for column in DIRECT_COLUMNS:
            labels.append(Label(row, column, record[column], column))
        for value, key in note_labels:
            labels.append(Label(row, "notes", value, key))
    return pd.DataFrame.from_records(records), labels


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower().encode("ascii", "ignore").decode()) or "user"


def _filler(fake: Faker, key: str) -> str:
    makers = {
        "city": fake.city,
        "country": fake.country,
        "organization": fake.company,
        "job": fake.job,
        "age": lambda: str(fake.random_int(18, 90)),
        "year": lambda: str(fake.random_int(1990, 2025)),
    }
    return makers.get(key, lambda: key)()


def _contains(cell: str, value: str) -> bool:
    """Whether `value` is still in `cell` as a whole word or phrase, case-insensitively ("Lea" is not in "leave")."""
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", cell, re.IGNORECASE) is not None


def leak_report(original: pd.DataFrame, scrubbed: pd.DataFrame, labels: list[Label]) -> dict[str, float | int]:
    """Share of labelled identifiers still present in their cell, and share of safe cells kept unchanged.

    A dropped column leaks nothing; a value counts as leaked when it still appears in the cell, case-insensitively and
    not as a part of a longer word.
    """
    leaked = 0
    by_entity: dict[str, list[int]] = {}
    for label in labels:
        if label.column not in scrubbed.columns:
            hit = False
        else:
            cell = scrubbed.at[label.row, label.column]
            hit = cell is not None and _contains(str(cell), label.value)
        leaked += hit
        counts = by_entity.setdefault(label.entity, [0, 0])
        counts[0] += hit
        counts[1] += 1
    kept = total = 0
    for column in SAFE_COLUMNS:
        if column in original.columns:
            total += len(original)
            if column in scrubbed.columns:
                kept += int((original[column].astype(str) == scrubbed[column].astype(str)).sum())
    return {
        "identifiers": len(labels),
        "leaked": leaked,
        "leak_rate": round(leaked / len(labels), 5) if labels else 0.0,
        "leaks_by_entity": {k: v[0] for k, v in sorted(by_entity.items()) if v[0]},
        "safe_cells": total,
        "safe_cells_unchanged": round(kept / total, 5) if total else 1.0,
    }
