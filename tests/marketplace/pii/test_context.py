"""The context rules' cue patterns, grouped by first letter for speed, find exactly what the plain alternations do."""

import re

from marketplace.pii import context
from marketplace.pii.heldout import generate_clinic


def test_grouping_the_cue_words_by_first_letter_changes_no_match():
    plain = {
        "relation_before": re.compile(
            rf"\b(?i:{context.RELATIONS})\b(?:\s*,\s*|\s+)(?:(?i:named|called|is|was)\s+)?"
            rf"(?:(?:{context.TITLES})\.?\s+)?({context.NAME})"
        ),
        "relation_after": re.compile(
            rf"({context.NAME})\s*(?:\(|,\s*|\s+-\s+)(?i:the|her|his|their|my|our|a|an|patient's|client's)\s+"
            rf"(?i:{context.RELATIONS})\b"
        ),
        "identifier": re.compile(
            rf"(?:\b|(?<=#))(?i:{context.IDENTIFIER_CUES})(?:\b|(?<=#))\.?"
            rf"(?:\s*(?i:no\.?|nr\.?|number|num\.?|#|id|code|n[°º]))?\s*[:#=]?\s*({context._CODE})\b"
        ),
        "cued_phone": re.compile(
            rf"\b(?:{context.PHONE_CUES})\b[^\d+\n]{{0,25}}({context._PHONE_BODY})(?!\w)", re.IGNORECASE
        ),
    }
    grouped = {
        "relation_before": context._RELATION_BEFORE_RE,
        "relation_after": context._RELATION_AFTER_RE,
        "identifier": context._IDENTIFIER_RE,
        "cued_phone": context._CUED_PHONE_RE,
    }
    notes = generate_clinic(400, seed=3)[0]["Verlauf"].astype(str).tolist() + [
        "Policy holder POL-44521 rang; her step-daughter, Ama, and the GP (Dr Obi) agreed. Ref#: AB-12/77.",
        "Counsellor Tadeusz and the counselor Ilse met the fiancée Noor. Mitglieds-Nr. 88123-44, n° 4471-22.",
        "MRN: 0045-2231 · Versicherten 551-223 · next of kin Aigerim · emergency contact: Bongani.",
        "Rang her mobile 0171 2345678 twice; texted +47 912 345 67; Handy: 0664/123 45 67; fax 030 1234 5678.",
    ]
    assert "m(?:other|um|om" in context.by_first_letter(context.RELATIONS)
    assert re.fullmatch(context.by_first_letter(r"\d+x|#|mum"), "12x")  # a branch of regex syntax stays as written
    for name, pattern in plain.items():
        for note in notes:
            expected = [(m.span(), m.span(1)) for m in pattern.finditer(note)]
            assert [(m.span(), m.span(1)) for m in grouped[name].finditer(note)] == expected, (name, note)
