"""Word lists decide most capitalised words of notes; only what they cannot decide goes to the NER."""

import json

import pytest

from marketplace.pii import lexicon
from marketplace.pii.text import KnownIdentifiers, TextScrubber, lexical_names


def test_lists_hold_names_of_many_locales_and_ordinary_vocabulary():
    names = lexicon.person_names()
    for part in ("margaret", "thompson", "przystupa", "giuseppe", "dubois", "müller"):
        assert part in names
    ordinary = lexicon.ordinary_words()
    for word in ("customer", "invoice", "gmbh", "heerlen", "bibliotekarz", "portugal"):
        assert word in ordinary
    assert "young" in lexicon.dictionary_words() and "margaret" not in lexicon.dictionary_words()
    assert lexicon.is_place_name("joshuafort") and not lexicon.is_place_name("fort")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yesterday Margaret Thompson complained about the delay.", "Yesterday <PERSON> complained about the delay."),
        ("Anna Materka-Piekart moved to Guinea-Bissau", "<PERSON> moved to Guinea-Bissau"),
        ("Giuseppe's invoice from Heerlen is late.", "<PERSON>'s invoice from Heerlen is late."),
        ("The Customer Service desk in Portugal called back.", "The Customer Service desk in Portugal called back."),
    ],
)
def test_name_parts_are_redacted_without_the_ner(text, expected):
    redacted, _ = TextScrubber(use_ner=False).redact([text])
    assert redacted == [expected]


@pytest.mark.parametrize(
    ("text", "needs_ner"),
    [
        ("Renewed for another year, happy with the service.", False),
        ("Margaret Thompson renewed.", False),
        ("Spoke with Zorblaxine about the Quantrell account.", True),  # on no list: only the NER can tell
        ("Ask Mrs Young about it.", True),  # a name part that is an everyday word, inside a sentence
        ("Young customers renewed.", False),  # the same word opening a sentence
    ],
)
def test_only_undecided_words_go_to_the_ner(text, needs_ner):
    assert bool(lexical_names(text, [])[1]) is needs_ner


def test_known_identifiers_are_blanked_before_the_lists_decide():
    known = KnownIdentifiers()
    known.add("Zorblaxine Quantrell", "PERSON")
    text = "Spoke with Zorblaxine Quantrell today."
    spans = known.spans(text)
    assert lexical_names(text, spans) == ([], [])


def test_the_ner_sees_only_the_notes_the_lists_cannot_decide(monkeypatch):
    seen = []

    def record(self, texts):
        seen.extend(texts)
        return [() for _ in texts]

    monkeypatch.setattr(TextScrubber, "ner_spans", record)
    texts = ["Margaret Thompson renewed.", "Zorblaxine came in today.", "No issues reported."]
    redacted, _ = TextScrubber().redact(texts)
    assert seen == ["Zorblaxine came in today."]
    assert redacted[0] == "<PERSON> renewed."


def test_the_ner_reads_only_the_neighbourhood_of_undecided_words_and_its_spans_land_in_place(monkeypatch):
    from marketplace.pii.text import Span

    seen = []

    def tag_zorblaxine(self, texts):
        seen.extend(texts)
        return [tuple(Span(t.index("Zorblaxine"), t.index("Zorblaxine") + 10, "PERSON") for _ in [0]) for t in texts]

    monkeypatch.setattr(TextScrubber, "ner_spans", tag_zorblaxine)
    filler = "the parcel was late again and the refund took three weeks to arrive at the office " * 3
    text = filler + "then Zorblaxine called about it. " + filler

    redacted, _ = TextScrubber().redact([text])

    assert redacted == [filler + "then <PERSON> called about it. " + filler]
    assert len(seen) == 1 and "Zorblaxine" in seen[0] and len(seen[0]) < 200 < len(text)


@pytest.mark.parametrize(
    ("text", "needs_ner"),
    [
        ("Started Lisinopril on Monday; Zoloft stopped.", False),  # generic and brand names of the drug dictionary
        ("Referred to Gastroenterology and Orthopaedics.", False),  # fields of medicine, by their ending
        ("Trial of Quorvimab went well.", False),  # on no list, but built on a WHO drug stem (-mab)
        ("Seen with Petrovics in clinic.", True),  # a Hungarian "-ics" surname is no department
    ],
)
def test_drugs_and_departments_are_decided_without_the_ner(text, needs_ner):
    assert bool(lexical_names(text, [])[1]) is needs_ner


def test_the_drug_dictionary_comes_from_the_package_and_never_outranks_a_name_list():
    drugs = lexicon.drug_names()
    assert len(drugs) > 20_000 and {"lisinopril", "metformin", "zoloft"} <= drugs
    # "camila" is also a brand of norethindrone: the name lists decide it first, so it is still redacted
    assert "camila" in drugs and "camila" in lexicon.person_names()
    assert lexical_names("Spoke with Camila today.", [])[0]


def test_a_phone_found_by_its_context_is_not_validated_again(monkeypatch):
    from marketplace.pii import validators

    def no_validation(text):
        raise AssertionError(f"validated {text!r}")

    monkeypatch.setattr(validators, "phone_valid", no_validation)
    redacted, _ = TextScrubber(use_ner=False).redact(["Her guardian will call back on +47 912 34 567 12."])
    assert redacted == ["Her guardian will call back on <PHONE_NUMBER>."]


def test_the_lists_are_built_once_kept_on_disk_and_rebuilt_from_a_broken_file(tmp_path, monkeypatch):
    """A second process reads the built lists from the cache (a small file's scrub was mostly list building); a file
    that cannot be read is built again, never trusted."""
    monkeypatch.setenv(lexicon.CACHE_ENV, str(tmp_path))
    lexicon._list.cache_clear()
    try:
        built = lexicon.person_names()
        path = lexicon.cache_file("person_names")
        assert path.parent == tmp_path and path.exists() and not list(tmp_path.glob("*.tmp"))
        assert not lexicon.cache_file("drug_names").exists()  # built when first needed, not before

        lexicon._list.cache_clear()
        assert lexicon.person_names() == built  # read back from the file

        path.write_text('["only", "half of a')
        lexicon._list.cache_clear()
        assert lexicon.person_names() == built and json.loads(path.read_text()) == sorted(built)

        monkeypatch.setenv(lexicon.CACHE_ENV, "")
        assert lexicon.cache_file("person_names") is None
        monkeypatch.delenv(lexicon.CACHE_ENV)

        def homeless():
            raise RuntimeError("Could not determine home directory")

        monkeypatch.setattr(lexicon.Path, "home", homeless)
        assert lexicon.cache_file("person_names") is None  # no home folder: built in memory, never a crash
    finally:
        lexicon._list.cache_clear()


def test_a_rare_given_name_next_to_a_found_surname_goes_with_it_and_vocabulary_stays(monkeypatch):
    """The small NER often tags "Franki Quorvath" as "Quorvath" alone: the capitalised word next to a person that no
    vocabulary holds is part of the name; a department or an everyday word next to one is not."""
    from marketplace.pii.text import Span

    def surname_only(self, texts):
        return [tuple(Span(t.index("Quorvath"), t.index("Quorvath") + 8, "PERSON") for _ in [0]) for t in texts]

    monkeypatch.setattr(TextScrubber, "ner_spans", surname_only)
    texts = ["Lunch brought in; Franki Quorvath stayed until April.", "Seen in Cardiology Quorvath Monday clinic."]
    redacted, _ = TextScrubber().redact(texts)
    assert redacted == ["Lunch brought in; <PERSON> stayed until April.", "Seen in Cardiology <PERSON> Monday clinic."]
