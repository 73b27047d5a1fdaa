"""Evaluation tables in scripts other than Latin and Chinese, for `bench_pii --lang scripts` (Django-free).

Sources, kept apart from what the engine reads: people, phones and addresses from Faker's locale providers (the
engine's Korean and Japanese rules read hand-written surname lists, and its word lists read Faker's names only for
Latin-script words); the note templates are written here, per language, half with a word that announces the person
(an honorific, "customer") and half with none, where the engine is expected to miss names it has no column for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

# locale -> (templates with a cue, templates without one); {name} and {phone} are filled in.
TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ko_KR": (
        ("{name}님께서 {phone}로 배송을 문의하셨음", "상담원이 {name} 고객에게 회신함, 연락처 {phone}"),
        ("{name}이 오늘 매장을 방문함", "어제 {name}와 통화했습니다. 번호 {phone}"),
    ),
    "ja_JP": (
        ("{name}様より{phone}に電話あり", "{name}さんの注文を発送しました（{phone}）"),
        ("{name}より返品の依頼。電話{phone}", "本日{name}が来店"),
    ),
    "ru_RU": (
        ("Клиент {name} звонил с номера {phone}", "Пациентка {name} записана на приём, тел. {phone}"),
        ("{name} оставил отзыв о доставке", "Заявку подал {name} вчера, номер {phone}"),
    ),
    "uk_UA": (
        ("Клієнт {name} телефонував з {phone}", "Пані {name} просила передзвонити"),
        ("{name} залишив відгук про доставку", "Замовлення оформив {name}, телефон {phone}"),
    ),
    "el_GR": (
        ("Ο πελάτης {name} τηλεφώνησε από {phone}", "Η κυρία {name} ζήτησε επιστροφή"),
        ("{name} άφησε κριτική για την παράδοση", "Την παραγγελία έκανε {name}, τηλ. {phone}"),
    ),
    "vi_VN": (
        ("Khách hàng {name} gọi từ số {phone}", "Chị {name} yêu cầu hoàn tiền"),
        ("{name} đã để lại đánh giá", "Đơn hàng do {name} đặt, số {phone}"),
    ),
    "ar_SA": (
        ("اتصل العميل {name} من الرقم {phone}", "طلبت السيدة {name} استرداد المبلغ"),
        ("{name} ترك تقييما للتوصيل", "قدم الطلب {name} أمس"),
    ),
    "he_IL": (
        ("הלקוח {name} התקשר מהמספר {phone}", "הגברת {name} ביקשה החזר"),
        ("{name} השאיר ביקורת על המשלוח", "את ההזמנה ביצע {name} אתמול"),
    ),
    "th_TH": (
        ("ลูกค้า {name} โทรจากเบอร์ {phone}", "คุณ {name} ขอคืนเงิน"),
        ("{name} รีวิวการจัดส่ง", "สั่งซื้อโดย {name} เมื่อวาน"),
    ),
    "hi_IN": (
        ("ग्राहक {name} ने {phone} से फोन किया", "श्रीमती {name} ने रिफंड माँगा"),
        ("{name} ने डिलीवरी की समीक्षा की", "ऑर्डर {name} ने कल दिया"),
    ),
}
_GLUED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    cued: bool = False  # whether the note announces the person
    phone_in_note: bool = False


def _person(fake, locale: str) -> Person:
    if locale == "ko_KR":
        name = fake.last_name() + fake.first_name()
    elif locale == "ja_JP":
        name = f"{fake.last_name()} {fake.first_name()}"
    elif locale == "vi_VN":  # family, middle, given name (its first_name() gives "John" and "Jane")
        name = f"{fake.last_name()} {fake.middle_name()} {fake.first_name_unisex()}"
    elif locale == "ru_RU":
        name = f"{fake.last_name_male()} {fake.first_name_male()} {fake.middle_name_male()}"
    else:
        name = f"{fake.first_name()} {fake.last_name()}"
    return Person(name, fake.phone_number())


def generate(locale: str, rows: int, seed: int = 0) -> tuple[pd.DataFrame, list[Person]]:
    """A table of `rows` customers (name, phone, a note about them) and the people in it."""
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(seed)
    cued, plain = TEMPLATES[locale]
    people, records = [], []
    for row in range(rows):
        person = _person(fake, locale)
        template = (cued if row % 2 == 0 else plain)[row // 2 % 2]
        note = template.format(name=person.name, phone=person.phone)
        people.append(Person(person.name, person.phone, row % 2 == 0, "{phone}" in template))
        records.append({"customer": person.name, "phone": person.phone, "notes": note})
    return pd.DataFrame(records, dtype=object), people


def contains(cell: str, value: str) -> bool:
    """Whether `value` is still in `cell`: anywhere in scripts written without spaces, as a whole word elsewhere."""
    if _GLUED.search(value):
        return value in cell
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", cell) is not None


def name_parts_left(cell: str, name: str) -> bool:
    """Whether any part of the name (three letters or more) is still in the cell."""
    return any(contains(cell, part) for part in name.split() if len(part) >= 2 or _GLUED.search(part))


def scores(people: list[Person], out: pd.DataFrame) -> dict[str, float | None]:
    """Leak rates: the name column, names (any part) in cued and uncued notes, phones in notes."""

    def rate(hits: list[bool]) -> float | None:
        return round(sum(hits) / len(hits), 4) if hits else None

    notes = [str(x) for x in out["notes"]]
    result: dict[str, float | None] = {}
    if "customer" in out:
        column = zip(out["customer"], people, strict=True)
        result["name_column_leak_rate"] = rate([contains(str(c), p.name) for c, p in column])
    pairs = list(zip(notes, people, strict=True))
    result["notes_name_leak_rate_cued"] = rate([name_parts_left(n, p.name) for n, p in pairs if p.cued])
    result["notes_name_leak_rate_uncued"] = rate([name_parts_left(n, p.name) for n, p in pairs if not p.cued])
    result["notes_phone_leak_rate"] = rate([p.phone in n for n, p in pairs if p.phone_in_note])
    return result
