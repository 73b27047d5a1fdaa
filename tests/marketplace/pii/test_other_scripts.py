"""Personal data in scripts other than Latin and Chinese: Korean, Japanese, Thai, Cyrillic, Arabic, Hebrew,
Devanagari. Names, phones and headers written by hand here (not drawn from the engine's lists); where the engine
reads no rule for a script, the verification must say so instead of reporting the table clean."""

import pytest

from marketplace.pii.text import regex_spans


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("고객이 010-2345-6789로 전화함", "010-2345-6789"),  # Korean: a particle right after the number
        ("051-177-7631번으로 연락 바랍니다", "051-177-7631"),
        ("090-1234-5678に電話してください", "090-1234-5678"),  # Japanese: a hiragana particle
        ("เบอร์ 081-234-5678ค่ะ", "081-234-5678"),  # Thai: a polite particle
        ("연락처:+82 10 2345 6789입니다", "+82 10 2345 6789"),
    ],
)
def test_a_phone_number_glued_to_a_particle_is_found(text, number):
    found = [text[s.start : s.end] for s in regex_spans(text) if s.entity == "PHONE_NUMBER"]
    assert number in found, found


@pytest.mark.parametrize("text", ["SKU0511777631 restocked", "ref A2023110512345", "订单号12345678已发货"])
def test_a_number_inside_a_code_is_no_phone(text):
    assert not [s for s in regex_spans(text) if s.entity == "PHONE_NUMBER"]
