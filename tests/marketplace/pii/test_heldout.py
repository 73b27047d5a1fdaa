"""The held-out benchmark's table: built from sources the engine never reads, and scored honestly."""

from marketplace.pii import scrub
from marketplace.pii.heldout import (
    generate_clinic,
    held_out_scores,
    measured_cell_leak_rate,
    note_char_scores,
    unlisted_names,
)
from marketplace.pii.lexicon import ordinary_words, person_names


def test_held_out_people_are_on_none_of_the_engines_lists():
    given, surnames = unlisted_names()
    assert len(given) > 1000 and len(surnames) > 100
    words = {name.lower() for name in (*given, *surnames)}
    assert not words & person_names() and not words & ordinary_words()


def test_an_untouched_table_leaks_everything_and_keeps_every_word():
    frame, labels, words = generate_clinic(30, seed=3)
    scores = held_out_scores(frame, frame, labels, words)
    assert scores["leak_rate"] == scores["notes_leak_rate"] == scores["column_leak_rate"] == 1.0
    assert scores["safe_cells_unchanged"] == scores["note_words_kept"] == 1.0
    assert {"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "IDENTIFIER"} == set(scores["leaks_by_entity"])
    # Every patient cell and every note still holds its people; the dates hold nobody.
    assert measured_cell_leak_rate(frame, labels, ["Patient", "Verlauf", "Besuchsdatum"]) == round(2 / 3, 6)


def test_the_engine_treats_every_identifier_column_of_the_held_out_table():
    frame, labels, words = generate_clinic(60, seed=4)
    out, report = scrub(frame, salt=b"held-out")
    scores = held_out_scores(frame, out, labels, words)
    assert scores["column_leak_rate"] == 0.0, report.columns
    assert scores["safe_cells_unchanged"] == 1.0


def test_the_engine_leaves_no_identity_phone_or_card_number_of_the_generated_chinese_table():
    from marketplace.pii.heldout import ZH_NOTE_COLUMN, ZH_SAFE_COLUMNS, generate_chinese

    frame, labels, words = generate_chinese(60, seed=5)
    out, _ = scrub(frame, salt=b"zh")
    scores = held_out_scores(frame, out, labels, words, note_column=ZH_NOTE_COLUMN, safe_columns=ZH_SAFE_COLUMNS)
    leaks = scores["leaks_by_entity"]
    assert leaks["CN_RESIDENT_ID"] == leaks["PHONE_NUMBER"] == leaks["CREDIT_CARD"] == 0.0, scores
    assert scores["column_leak_rate"] == 0.0 and scores["safe_cells_unchanged"] == 1.0


def test_character_precision_counts_ordinary_words_that_were_replaced():
    note = "Ines Okafor takes metformin; call 0171 2233445."
    values = [["Ines Okafor", "0171 2233445"]]
    personal = len("Ines Okafor") + len("0171 2233445")
    exact = note_char_scores([note], ["<PERSON> takes metformin; call <PHONE_NUMBER>."], values)
    assert exact["notes_char_recall"] == 1.0 and exact["notes_char_precision"] == 1.0
    # The drug replaced too: every identifier character is gone, but a fifth of what was removed was not personal.
    greedy = note_char_scores([note], ["<PERSON> takes <PERSON>; call <PHONE_NUMBER>."], values)
    assert greedy["notes_char_recall"] == 1.0
    assert greedy["notes_char_precision"] == round(personal / (personal + len("metformin")), 5)
    # The phone left whole: recall falls by its share, precision stays whole.
    partial = note_char_scores([note], ["<PERSON> takes metformin; call 0171 2233445."], values)
    assert partial["notes_char_recall"] == round(len("Ines Okafor") / personal, 5)
    assert partial["notes_char_precision"] == 1.0
    # The full stop after an address stays where it was, whichever full stop difflib pairs it with.
    mail = note_char_scores(["Contact: brio.n47@seznam.cz."], ["Contact: <EMAIL_ADDRESS>."], [["brio.n47@seznam.cz"]])
    assert mail == {"notes_char_recall": 1.0, "notes_char_precision": 1.0}
    untouched = held_out_scores(*generate_clinic(10, seed=1)[:1] * 2, *generate_clinic(10, seed=1)[1:])
    assert untouched["notes_char_recall"] == 0.0 and untouched["notes_char_precision"] == 1.0
