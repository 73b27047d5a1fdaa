import pytest

from marketplace.pii import validators as v
from marketplace.pii.text import KnownIdentifiers, TextScrubber, regex_spans


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4111 1111 1111 1111", True),
        ("5500-0000-0000-0004", True),
        ("4111 1111 1111 1112", False),
        ("1234", False),
    ],
)
def test_luhn(value, expected):
    assert v.luhn_valid(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("DE89 3704 0044 0532 0130 01", False),
        ("XX00", False),
    ],
)
def test_iban_checksum(value, expected):
    assert v.iban_valid(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123-45-6789", True),
        ("000-45-6789", False),
        ("666-12-3456", False),
        ("123456789", False),
    ],
)
def test_us_ssn_rules(value, expected):
    assert v.ssn_valid(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AB 12 34 56 C", True),
        ("QQ123456A", False),
        ("AB123456E", False),
    ],
)
def test_uk_national_insurance_number(value, expected):
    assert v.nino_valid(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+49 30 901820", True),
        ("+1 415 555 0101", True),
        ("+44 20 7946 0958", True),
        ("(415) 555-0134", True),
        ("12.50", False),
        ("2023-01-01", False),
        ("hello", False),
    ],
)
def test_international_phone_numbers(value, expected):
    assert v.phone_valid(value) is expected


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (v.email_valid, "ana.lima@example.com.br", "ana.lima@"),
        (v.ip_valid, "192.168.1.20", "999.1.1.1"),
        (v.date_valid, "1984-03-07", "3024-01-01"),
        (v.national_id_valid, "RSSMRA85T10A562S", "hello"),
    ],
)
def test_syntax_validators(check, good, bad):
    assert check(good) and not check(bad)


@pytest.mark.parametrize(
    ("text", "entity", "found"),
    [
        ("Ship to 221B Baker Street, please", "ADDRESS", "221B Baker Street"),
        ("Neue Adresse: Hauptstraße 5 in Berlin", "ADDRESS", "Hauptstraße 5"),
        ("Vive en Calle Mayor 12", "ADDRESS", "Calle Mayor 12"),
        ("Call me on +49 30 901820 tomorrow", "PHONE_NUMBER", "+49 30 901820"),
        ("IBAN DE89370400440532013000 for the refund", "IBAN_CODE", "DE89370400440532013000"),
        ("card 4111-1111-1111-1111 lost", "CREDIT_CARD", "4111-1111-1111-1111"),
        ("passport number X1234567 expired", "PASSPORT", "X1234567"),
        ("driver's license no D1234-56789 on file", "DRIVER_LICENSE", "D1234-56789"),
        ("she was born on 1984-03-07 in Lyon", "DATE_OF_BIRTH", "1984-03-07"),
        ("ssn 123-45-6789", "US_SSN", "123-45-6789"),
    ],
)
def test_own_recognizers_find_entities_in_text(text, entity, found):
    spans = [s for s in regex_spans(text) if s.entity == entity]
    assert [text[s.start : s.end] for s in spans] == [found]


@pytest.mark.parametrize(
    "text",
    [
        "Paid 120.50 on 2023-05-01 for 3 seats",
        "Order 12345 shipped",
        "Plan gold, renewed for 12 months",
    ],
)
def test_own_recognizers_leave_ordinary_text_alone(text):
    assert regex_spans(text) == []


def test_known_identifiers_are_removed_from_text_whatever_the_ner_thinks():
    known = KnownIdentifiers()
    known.add("Zyx Quorblat", "PERSON")
    known.add("Li Wu", "PERSON")
    known.add("zq@example.org", "EMAIL_ADDRESS")
    texts = ["spoke to zyx quorblat today", "Quorblat wrote from zq@example.org", "Li said do it", "we do it"]

    redacted, counts = TextScrubber(use_ner=False).redact(texts, known)

    assert redacted == [
        "spoke to <PERSON> today",
        "<PERSON> wrote from <EMAIL_ADDRESS>",
        "<PERSON> said do it",
        "we do it",
    ]
    assert counts == {"PERSON": 3, "EMAIL_ADDRESS": 1}


def test_ner_finds_names_that_no_column_listed():
    redacted, counts = TextScrubber().redact(["Yesterday Margaret Thompson complained about the delay."])
    assert redacted == ["Yesterday <PERSON> complained about the delay."]
    assert counts["PERSON"] == 1


@pytest.mark.parametrize("text", ["My birthday is 03/07/1984", "DOB: 1990-01-02", "born on 12 March 1984"])
def test_dates_of_birth_in_context(text):
    assert [s.entity for s in regex_spans(text)] == ["DATE_OF_BIRTH"]


def test_known_values_are_found_whole_with_their_leading_plus_and_across_processes():
    import pickle
    import subprocess
    import sys

    known = KnownIdentifiers()
    known.add("+49 30 901820", "PHONE_NUMBER")
    known.add("Flat 2, 17 Rue des Lilas.", "ADDRESS")
    known.add("ana.souza@example.com.br", "EMAIL_ADDRESS")
    texts = [
        "call +49 30 901820 after five",
        "moved to flat 2, 17 rue des lilas last week",
        "wrote from ana.souza@example.com.br twice",
        "flat 2 is empty; 49 30 is a number",
    ]
    copy = pickle.loads(pickle.dumps(known))  # what a worker receives

    assert TextScrubber(use_ner=False).redact(texts, copy)[0] == [
        "call <PHONE_NUMBER> after five",
        "moved to <ADDRESS> last week",
        "wrote from <EMAIL_ADDRESS> twice",
        "flat 2 is empty; 49 30 is a number",
    ]
    # The keys do not depend on the process's string-hash salt.
    from marketplace.pii.text import stable_key

    code = "from marketplace.pii.text import stable_key; print(stable_key('ana.souza@example.com.br'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(other) == stable_key("ana.souza@example.com.br")


def test_skipping_digit_and_at_patterns_on_texts_without_them_changes_no_finding(monkeypatch):
    from marketplace.pii import text as text_module
    from marketplace.pii.benchdata import generate_customers

    frame, _ = generate_customers(300, seed=3)
    texts = [str(t) for column in ("notes", "street_address", "occupation") for t in frame[column]]
    texts += ["Call me on 0049 30 901820 or at a@b.de", "passport X1234567, born 1 May 1980", "Via Roma, no digits"]
    fast = [text_module.regex_spans(t) for t in texts]
    monkeypatch.setattr(text_module, "_NEEDS", {})

    assert [text_module.regex_spans(t) for t in texts] == fast
    assert any(fast)


def test_phone_candidates_inside_other_findings_are_not_validated_and_nothing_changes(monkeypatch):
    from marketplace.pii import text as text_module

    note = "Card 4111 1111 1111 1111 on file; call +49 30 901820 or 030 901820 (known)."
    known = [text_module.Span(note.index("+49"), note.index("+49") + len("+49 30 901820 or 030 901820"), "PERSON")]
    checked: list[str] = []
    original = text_module._valid_phone_span

    def spy(value):
        checked.append(value)
        return original(value)

    full = text_module.merge_spans(text_module.regex_spans(note) + known)
    monkeypatch.setattr(text_module, "_valid_phone_span", spy)
    monkeypatch.setattr(
        text_module, "RECOGNIZERS", [(e, p, spy if f is original else f) for e, p, f in text_module.RECOGNIZERS]
    )
    fast = text_module.merge_spans(text_module.regex_spans(note, known) + known)

    assert fast == full
    assert not any("4111" in value or "901820" in value for value in checked)


def test_known_values_that_start_with_an_everyday_word_are_found_as_before(monkeypatch):
    from marketplace.pii import lexicon
    from marketplace.pii.benchdata import generate_customers

    frame, _ = generate_customers(200, seed=5)
    texts = [str(t) for t in frame["notes"]] + ["Ship it to Park Lane 7 today, or to main street 12, said Young"]

    def known_ids():
        known = KnownIdentifiers()
        for column, entity in (("full_name", "PERSON"), ("email", "EMAIL_ADDRESS"), ("street_address", "ADDRESS")):
            for value in frame[column]:
                known.add(str(value), entity)
        for value in ("Park Lane 7", "Main Street 12", "Young Kim"):
            known.add(value, "ADDRESS" if value[-1].isdigit() else "PERSON")
        return known

    fast = known_ids().spans_many(texts)
    monkeypatch.setattr(lexicon, "ordinary_words", lambda: frozenset())
    assert known_ids().spans_many(texts) == fast
    assert {texts[-1][s.start : s.end] for s in fast[-1]} >= {"Park Lane 7", "main street 12"}
