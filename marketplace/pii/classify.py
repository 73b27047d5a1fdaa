"""Column classification: header hints (several languages) plus validators over a sample of values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
import regex as unicode_re

from marketplace.pii import chinese, scripts
from marketplace.pii import validators as v
from marketplace.pii.context import is_international_phone
from marketplace.pii.lexicon import is_frequent

DIRECT, QUASI, FREE_TEXT, SAFE = "direct_identifier", "quasi_identifier", "free_text", "safe"

# Normalised header (lower-case, words joined by "_") -> entity. Checked as whole words or word sequences.
HEADER_HINTS: list[tuple[str, str, str]] = [
    # (entity, kind, regex over the normalised header)
    # Words of other languages follow the English ones: Russian and Ukrainian, Greek, Arabic, Hebrew, Hindi,
    # Vietnamese, Indonesian and Turkish. Korean, Japanese and Thai headers are searched inside the header
    # (`scripts.HEADER_HINTS`): they have no spaces between words.
    (
        "EMAIL_ADDRESS",
        DIRECT,
        r"e_?mail|correo|courriel|mail_?address|электронная_почта|эл_почта|почта|البريد_الإلكتروني|البريد|"
        r"אימייל|דוא_ל|ईमेल|e_posta|surel|thư_điện_tử",
    ),
    (
        "PHONE_NUMBER",
        DIRECT,
        r"phone|telephone|tel|mobile|cell|cellphone|fax|telefono|telefon|handy|msisdn|whatsapp|"
        r"portable|cellulare|телефон|тел|мобильный|τηλέφωνο|τηλεφωνο|κινητό|هاتف|الهاتف|جوال|الجوال|טלפון|"
        r"נייד|फ़ोन|फोन|मोबाइल|điện_thoại|sđt|sdt|telepon|telp|no_hp|nomor_hp",
    ),
    ("US_SSN", DIRECT, r"ssn|social_security(_number|_no)?"),
    (
        "NATIONAL_ID",
        DIRECT,
        r"national_?id|id_?number|personal_?id|identity_?(number|no)|tax_?id|tin|nif|nie|dni|"
        r"cpf|curp|codice_fiscale|personnummer|bsn|pesel|aadhaar|insee|nir|steuer_?id|sin|nin|"
        r"nino|national_insurance(_number|_no)?|insurance_number|svnr|sozialversicherungsnummer|инн|снилс|"
        r"الهوية|رقم_الهوية|هوية|תעודת_זהות|ת_ז|מספר_זהות|आधार|cccd|cmnd|căn_cước|nik|ktp|no_ktp|tc_kimlik|"
        r"tckn|kimlik_no|kimlik|αμκα|αφμ|ταυτότητα",
    ),
    ("PASSPORT", DIRECT, r"passport(_number|_no)?|passeport|pasaporte|reisepass|паспорт|جواز_السفر|דרכון|pasaport"),
    (
        "DRIVER_LICENSE",
        DIRECT,
        r"drivers?_?licen[cs]e(_number|_no)?|driving_licen[cs]e|licen[cs]e_(number|no)|dl_number",
    ),
    ("CREDIT_CARD", DIRECT, r"credit_?card(_number)?|card_?(number|no|num)|cc_?(number|num)?|pan"),
    ("IBAN_CODE", DIRECT, r"iban|bank_?account(_number)?|account_?(number|no)"),
    (
        "ADDRESS",
        DIRECT,
        r"(street_|home_|postal_|mailing_|billing_|shipping_)?address(_line)?(_\d)?|street|addr|"
        r"strasse|straße|calle|rue|adresse|direccion|dirección|endereco|indirizzo|anschrift|адрес|адреса|"
        r"διεύθυνση|διευθυνση|عنوان|العنوان|כתובת|पता|địa_chỉ|alamat|adres|adresi",
    ),
    (
        "DATE_OF_BIRTH",
        DIRECT,
        r"dob|birth_?date|date_of_birth|birthday|born|geburtsdatum|fecha_(de_)?nacimiento|"
        r"data_(di_)?nascita|date_(de_)?naissance|дата_рождения|ημερομηνία_γέννησης|تاريخ_الميلاد|תאריך_לידה|"
        r"जन्म_तिथि|ngày_sinh|tanggal_lahir|doğum_tarihi",
    ),
    ("IP_ADDRESS", DIRECT, r"ip|ip_?address|ipv4|ipv6|client_ip|remote_addr"),
    ("DEVICE_ID", DIRECT, r"mac_?address|mac_?addr|device_?id|imei|udid|idfa|gaid|advertising_?id|android_?id"),
    (
        "VEHICLE_ID",
        DIRECT,
        r"vin|vehicle_identification_number|licen[cs]e_?plate|number_?plate|plate_?(number|no)|kennzeichen|"
        r"immatriculation|matr[ií]cula|targa|kenteken",
    ),
    ("USERNAME", DIRECT, r"user_?name|login|handle|screen_name"),
    (
        "PERSON",
        DIRECT,
        r"(first|last|given|family|middle|full|maiden|sur|fore|nick|customer|client|patient|contact|"
        r"person|employee|owner|holder|cardholder|account_holder)?_?names?|surname|forename|nombre|"
        r"apellidos?|pr[eé]nom|nom|vorname|nachname|cognome|nome|voornaam|achternaam|imie|imię|nazwisko|имя|"
        r"фамилия|отчество|фио|ф_и_о|ім_я|прізвище|піб|όνομα|ονομα|επώνυμο|επωνυμο|ονοματεπώνυμο|اسم|الاسم|"
        r"שם|שם_מלא|שם_משפחה|नाम|họ_tên|họ_và_tên|tên|nama|nama_lengkap|adı|soyad|soyadı|ad_soyad|isim",
    ),
    ("ZIP_CODE", QUASI, r"zip(_?code)?|post_?code|postal_?code|plz|cap|cp|codigo_postal"),
    # a position to a few metres names a home; generalised to two decimals (about a kilometre)
    (
        "GEO_COORDINATES",
        QUASI,
        r"lat|lng|lon|latitude|longitude|coordinates?|coords|gps|geo_?location|geo_?point|lat_?lng|lat_?lon|"
        r"широта|долгота|координаты|緯度|経度|纬度|经度|坐标|위도|경도",
    ),
    ("CITY", QUASI, r"city|town|ciudad|ville|stadt|citta|città|municipality|ort"),
    ("GENDER", QUASI, r"gender|sex|genero|género|geschlecht|sexe"),
    ("AGE", QUASI, r"age|edad|alter|eta|âge"),
    ("LOCATION", QUASI, r"country|state|region|province|county|nationality|ethnicity|race"),
]
FREE_TEXT_HINT = re.compile(
    r"(^|_)(notes?|comments?|description|text|message|remarks?|feedback|review|body|summary|details|memo|"
    r"complaint|transcript|observations?|bemerkung|commentaire|comentario|notas?|примечание|примечания|"
    r"комментарий|комментарии|заметки|описание|σχόλια|σημειώσεις|ملاحظات|ملاحظة|تعليق|تعليقات|הערות|הערה|"
    r"टिप्पणी|ghi_chú|mô_tả|catatan|keterangan|notlar|açıklama)($|_)"
    r"|메모|비고|내용|기록|의견|備考|メモ|内容|コメント|記録|หมายเหตุ|บันทึก|รายละเอียด"  # anywhere in the header
)
# "name" preceded by one of these is not a person's name (product_name, clinic_name, ...).
NOT_A_PERSON = re.compile(
    r"(^|_)(product|company|business|clinic|hospital|file|brand|org|organi[sz]ation|firm|store|shop|city|street|county|"
    r"mfr|manufacturer|animal|breed|"
    r"country|state|dataset|item|plan|model|project|team|department|dept|host|domain|server|app|bank|school|"
    r"university|drug|species|category|event|venue|test|merchant|vendor|employer|job|place|region|column|table|"
    r"display|package|feature|class|label|site|campaign|course|group|role|service|device|sku|variable|field|"
    # product, company, shop, city in the languages of the name headers above ("اسم_المنتج" is a product's name)
    r"المنتج|الشركة|المتجر|المدينة|מוצר|חברה|עיר|उत्पाद|कंपनी|शहर|sản_phẩm|công_ty|produk|perusahaan|toko|kota|"
    r"ürün|şirket|firma|şehir|προϊόντος|προϊόν|εταιρείας)($|_)"
)
PERSON_VALUE_HINTS = re.compile(
    r"(^|_)(customer|client|patient|contact|person|employee|owner|holder|user|author|"
    r"recipient|sender|member|applicant|cardholder|клиент|пациент|покупатель|сотрудник|заказчик|получатель|"
    r"πελάτης|ασθενής|عميل|العميل|مريض|المريض|לקוח|הלקוח|מטופל|ग्राहक|मरीज़|मरीज|khách_hàng|bệnh_nhân|"
    r"pelanggan|pasien|müşteri|hasta)($|_)"
    r"|고객|환자|회원|お客様|顧客|患者|ลูกค้า|ผู้ป่วย"  # no spaces between words: anywhere in the header
)

VALUE_CHECKS = [
    ("CN_RESIDENT_ID", chinese.resident_id_valid),
    ("CN_USCC", chinese.uscc_valid),
    ("EMAIL_ADDRESS", v.email_valid),
    ("CREDIT_CARD", v.luhn_valid),
    ("IBAN_CODE", v.iban_valid),
    ("US_SSN", v.ssn_valid),
    ("UK_NINO", v.nino_valid),
    ("NATIONAL_ID", v.national_id_valid),
    ("NATIONAL_ID", chinese.tw_or_hk_id_valid),  # Taiwan's and Hong Kong's identity numbers
    ("IP_ADDRESS", v.ip_valid),
    ("USERNAME", v.profile_url_valid),  # a person's page on a social network
    ("USERNAME", v.handle_valid),  # "@jokafor"
]


@dataclass(frozen=True)
class ColumnDecision:
    name: str
    kind: str  # direct_identifier | quasi_identifier | free_text | safe
    entity: str | None  # e.g. EMAIL_ADDRESS; None for free text and safe columns
    confidence: float  # 0..1: share of sampled values that validate, or the strength of the header hint
    reason: str  # why, for the report
    # What the decision rests on, for the report: header hint, validator pass rate, uniqueness, value pattern.
    evidence: dict = field(default_factory=dict, compare=False)


# Entities whose values have a recognisable shape: a header that names one of them over values that are small
# numbers or a handful of categories is contradicted ("pan" = day of the pandemic, "id" over five levels).
SHAPED = {"CREDIT_CARD", "IBAN_CODE", "US_SSN", "NATIONAL_ID", "PASSPORT", "DRIVER_LICENSE", "PHONE_NUMBER"}
IDENTIFIER_MIN_VALUES = 20  # fewer non-empty sampled values say nothing about uniqueness
IDENTIFIER_MIN_UNIQUENESS = 0.9  # distinct share of non-empty sampled values


def _shape(value: str) -> str:
    """The value's pattern: letters as A, digits as 9, everything else kept ("MBR-004521" -> "AAA-999999")."""
    return re.sub(r"[^\W\d_]", "A", re.sub(r"\d", "9", value))


def value_evidence(series: pd.Series) -> dict:
    """Statistics of a column's sampled values that say whether it identifies rows: uniqueness, the share of the
    three commonest patterns, the share with a digit, the median length."""
    present = [str(x).strip() for x in series.dropna() if str(x).strip()]
    if not present:
        return {"values": 0}
    distinct = set(present)
    shapes = pd.Series([_shape(x) for x in distinct]).value_counts()
    lengths = sorted(len(x) for x in distinct)
    integers = [int(x) for x in distinct if x.isdigit() and len(x) <= 18]
    # Consecutive integers (a span about as wide as their count) are a row key of the export, not a number that
    # identifies a person elsewhere; membership and account numbers are spread over a much wider range.
    density = (max(integers) - min(integers) + 1) / len(integers) if len(integers) == len(distinct) else None
    return {
        "values": len(present),
        "uniqueness": round(len(distinct) / len(present), 3),
        "integer_span_per_value": round(density, 1) if density is not None else None,
        "pattern": shapes.index[0],
        "pattern_share": round(float(shapes.iloc[:3].sum()) / len(distinct), 3),
        "top_pattern_share": round(float(shapes.iloc[0]) / len(distinct), 3),
        "with_digit": round(sum(any(c.isdigit() for c in x) for x in distinct) / len(distinct), 3),
        "median_length": lengths[len(lengths) // 2],
    }


def is_code_column(evidence: dict) -> bool:
    """Near-unique values of a stable letter-and-digit pattern: a per-row identifier (member, account, record
    number) whatever the header says. Decimal numbers, dates and short integers are measurements, not codes."""
    if evidence.get("values", 0) < IDENTIFIER_MIN_VALUES or evidence["uniqueness"] < IDENTIFIER_MIN_UNIQUENESS:
        return False
    pattern = evidence["pattern"]
    if evidence["with_digit"] < 0.9 or evidence["pattern_share"] < 0.9 or not 5 <= evidence["median_length"] <= 40:
        return False
    if " " in pattern or DATE_PATTERN.fullmatch(pattern):
        return False
    if re.fullmatch(r"[+-]?9+([.,]9+)?([eE][+-]?9+)?", pattern):  # numbers: only long integer codes
        return pattern.isdigit() and _long_integer_code(evidence)
    return not AMOUNT_PATTERN.fullmatch(pattern)


DATE_PATTERN = re.compile(r"9{4}-99-99.*|99[./-]99[./-]9{2,4}|99:99(:99)?")  # dates and times, not codes


def is_measure(value: str) -> bool:
    """A date, a time, an amount or a rate written as text: distinct per row as codes are, but no identifier."""
    shape = _shape(value)
    return bool(DATE_PATTERN.fullmatch(shape) or AMOUNT_PATTERN.fullmatch(shape))


# Money and rates written as text: digits in groups of three, or after a currency sign, or before a percent sign,
# with an optional currency sign, code or unit ("$99,999", "¥9,999.99", "AAA9,999" for RMB1,200, "9,999A" for
# 1,200元, "99.5%"). Incomes or prices nearly all differ, so they looked like per-row codes and were hashed on
# upload: the provider's amounts were lost to every buyer.
AMOUNT_PATTERN = re.compile(
    r"[+-]?(?:[$€£¥₹₩₽]|A{1,3}\$?)?[+-]?9{1,3}(?:,999)+(?:\.9+)?(?:%|A{1,2})?"
    r"|[+-]?[$€£¥₹₩₽][+-]?9+(?:\.9+)?"
    r"|[+-]?[$€£¥₹₩₽]?[+-]?9{1,3}(?:\.999)+(?:,9+)?[$€£¥₹₩₽]?"
    r"|[+-]?9+(?:\.9+)?%"
)


def _long_integer_code(evidence: dict) -> bool:
    """Plain integers identify rows only when long, of one length and spread out: not counts, amounts or years,
    and not the consecutive row keys of an export."""
    sequential = (evidence.get("integer_span_per_value") or 0) <= 3
    return (
        len(evidence["pattern"]) >= 7
        and evidence["top_pattern_share"] >= 0.95
        and evidence["uniqueness"] >= 0.98
        and not sequential
    )


# A capitalised word of any script with case: Latin with every diacritic ("Trần", "Łukasz", "Şahin"), Cyrillic
# ("Сазонов"), Greek ("Παπαδόπουλος").
_CAPITALISED = r"\p{Lu}[\p{Ll}\p{M}'’]+(?:-\p{Lu}[\p{Ll}\p{M}'’]+)?"
NAME_SHAPE_RE = unicode_re.compile(  # "Brian Foster", "Foster, Brian", "Jan van Dijk", "Dr. Ann Lee MD"
    r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+)?"
    rf"{_CAPITALISED},?(?:\s+(?:(?:van|von|de|da|del|der|di|du|la|le|bin|al)\s+)?{_CAPITALISED}){{1,3}}"
    r"(?:,?\s+(?:Jr|Sr|II|III|IV|MD|PhD|DDS|DVM|Esq)\.?)?"
)


def name_shape_rate(values: list[str]) -> float:
    """Share of values shaped like a person's name, lists aside: two to four capitalised words, at least one of
    them not an everyday English word ("Eldo Marbury" yes; "General Electric", "Owl monkey", "Pentium E5500" no)."""
    if not values:
        return 0.0
    return sum(map(is_name_shaped, values)) / len(values)


def is_name_shaped(value: str) -> bool:
    """Two to four capitalised words, or the same in capitals ("BRIAN FOSTER", as bank exports write names), with
    the family name first where a comma follows it ("Foster, Brian")."""
    text = value.strip()
    if text.isupper():
        text = text.title()
    return bool(NAME_SHAPE_RE.fullmatch(text)) and not all(is_frequent(w) for w in re.split(r"[\s,-]+", text) if w)


def _contradicts(entity: str, evidence: dict, numeric: bool) -> str | None:
    """Why the values contradict a header that names a shaped identifier, or None."""
    if evidence.get("values", 0) < IDENTIFIER_MIN_VALUES or entity in ("PERSON", "DATE_OF_BIRTH"):
        return None  # a person-name column with numbers is handled on its own; so are birth dates
    if numeric and evidence["median_length"] <= 4:
        return "the values are small numbers"  # no e-mail, card, phone or address is 0, 1 or 4-107
    if entity in SHAPED and evidence["uniqueness"] < 0.2 and evidence["with_digit"] < 0.5:
        return "the values are a few repeated categories"
    return None


def normalise_header(name: str) -> str:
    """Lower case, words joined by "_": letters and marks of every script are kept ("имя", "नाम", "địa_chỉ")."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return unicode_re.sub(r"[^\p{L}\p{M}\p{N}]+", "_", name.lower()).strip("_")


def header_hint(name: str) -> tuple[str, str] | None:
    if chinese.HAN_RE.search(str(name)) or re.search(r"QQ", str(name)):
        for entity, kind, pattern in chinese.HEADER_HINTS:  # Chinese headers have no word boundaries
            if re.search(pattern, chinese.simplified(str(name))):  # "電話", "身分證字號" as "电话", "身份证"
                return entity, kind
    if (found := scripts.header_hint(str(name))) is not None:  # Korean, Japanese, Thai: "고객명", "氏名", "ชื่อ"
        return found
    header = normalise_header(name)
    for entity, kind, pattern in HEADER_HINTS:
        if re.search(rf"(^|_)(?:{pattern})($|_)", header):
            if entity == "PERSON" and NOT_A_PERSON.search(header):
                continue
            if entity in ("AGE", "CITY", "ZIP_CODE", "IP_ADDRESS") and re.search(
                r"(^|_)(id|count|code_type)($|_)", header
            ):
                continue
            return entity, kind
    return None


def _rate(values: list[str], check) -> float:
    if not values:
        return 0.0
    return sum(1 for value in values if check(value)) / len(values)


def _looks_like_free_text(values: list[str]) -> bool:
    if not values:
        return False
    lengths = [len(x) for x in values]
    words = [len(x.split()) for x in values]
    if sum(len(scripts.CJK_RE.findall(x)) for x in values) / len(values) >= 10:
        return True  # Chinese, Japanese, Korean: ten characters make a sentence (a name has two to five)
    return sum(lengths) / len(lengths) >= 25 and sum(words) / len(words) >= 4


def _phone_by_values(values: list[str]) -> float:
    if values and all(re.fullmatch(r"[+-]?\d+\.\d+", x.strip()) for x in values):
        return 0.0  # decimal numbers (logs, coordinates) are measurements: no phone number has one decimal point
    formatted = [x for x in values if re.search(r"[+\s().-]", x.strip())]
    if len(formatted) < 0.5 * len(values):
        return 0.0
    return _rate(values, v.phone_valid)


_BARE_WORDS_RE = unicode_re.compile(r"[\p{L}\p{M}]+(?:[ ·.'’-]+[\p{L}\p{M}]+){0,3}\.?")


def bare_words_rate(values: list[str]) -> float:
    """Share of values that are one to four words of letters, in a script other than Latin, as names are written
    in Arabic, Hebrew, Thai, Devanagari, Hangul or kana: no digit, no punctuation but a name's, at most 40
    characters. Under a header that names people ("customer", "клиент", "고객") such values are their names."""
    return _rate(values, lambda x: is_bare_words(x) and scripts.main_script(x) not in (None, "Latin"))


def is_bare_words(value: str) -> bool:
    """One to four words of letters, at most 40 characters: no digit, no punctuation but a name's."""
    text = value.strip()
    return len(text) <= 40 and _BARE_WORDS_RE.fullmatch(text) is not None


def _person_by_values(values: list[str], ner) -> float:
    # names written in capitals ("BRIAN FOSTER") are read in title case: the NER knows names by their capital
    candidates = [x.title() if x.isupper() else x for x in values if 2 <= len(x) <= 60 and re.fullmatch(r"[^\d@]+", x)]
    if len(candidates) < 0.8 * len(values) or ner is None:
        return 0.0
    docs = ner(candidates[:100])
    hits = sum(
        1
        for text, spans in zip(candidates[:100], docs, strict=True)
        if any(s.entity == "PERSON" and s.end - s.start >= 0.6 * len(text) for s in spans)
    )
    return hits / min(len(candidates), 100)


def classify_column(name: str, series: pd.Series, *, ner=None) -> ColumnDecision:
    """Decide what a column holds from its header and a sample of its values (strings or None), together: values
    that validate, values that contradict the header, and code-shaped near-unique values whatever the header."""
    values = [v.fold_width(str(x)) for x in series.dropna().unique()[:500] if str(x).strip()]  # "０９０..." as "090..."
    hint = header_hint(name)
    header = normalise_header(name)
    numeric = bool(values) and all(re.fullmatch(r"[+-]?\d+(\.\d+)?", x) for x in values)
    evidence = {"header_hint": hint[0] if hint else None, **value_evidence(series)}

    def decide(kind: str, entity: str | None, confidence: float, reason: str, **rates: float) -> ColumnDecision:
        rounded = {key: round(rate, 3) for key, rate in rates.items()}
        return ColumnDecision(name, kind, entity, confidence, reason, {**evidence, **rounded})

    for entity, check in VALUE_CHECKS:
        rate = _rate(values, check)
        if rate >= 0.8:
            return decide(DIRECT, entity, round(rate, 3), f"{rate:.0%} of sampled values validate", validator_rate=rate)
    contradiction = _contradicts(hint[0], evidence, numeric) if hint is not None and hint[1] == DIRECT else None
    if hint is not None and contradiction is None:
        entity, kind = hint
        if entity == "PERSON" and numeric:
            return decide(SAFE, None, 0.6, "name-like header but numeric values")
        if entity == "DATE_OF_BIRTH" or kind == DIRECT:
            return decide(kind, entity, 0.9, f"header '{name}' names {entity}")
        return decide(kind, entity, 0.8, f"header '{name}' is a quasi-identifier ({entity})")
    phone_rate = _phone_by_values(values)
    if phone_rate >= 0.8:
        return decide(
            DIRECT, "PHONE_NUMBER", round(phone_rate, 3), "values are phone numbers", validator_rate=phone_rate
        )
    if values and (shaped := _rate(values, is_international_phone)) >= 0.9:
        return decide(
            DIRECT,
            "PHONE_NUMBER",
            round(shaped, 3),
            f"{shaped:.0%} of values are written as international phone numbers ({phone_rate:.0%} validate)",
            phone_shape_rate=shaped,
            validator_rate=phone_rate,
        )
    if is_code_column(evidence):
        return decide(
            DIRECT,
            "IDENTIFIER",
            evidence["uniqueness"],
            f"{evidence['uniqueness']:.0%} of values are distinct codes of the pattern {evidence['pattern']!r}",
        )
    han = [x for x in values if chinese.HAN_RE.search(x)]
    if len(han) >= 0.8 * len(values) and values:
        if (rate := chinese.name_rate(values)) >= 0.8:
            return decide(
                DIRECT, "PERSON", round(rate, 3), f"{rate:.0%} of values are Chinese names (surname + given name)"
            )
        if (rate := chinese.address_rate(values)) >= 0.6:
            return decide(DIRECT, "ADDRESS", round(rate, 3), f"{rate:.0%} of values are Chinese street addresses")
    chinese_free_text = chinese.FREE_TEXT_HEADER.search(chinese.simplified(str(name)))  # "備註" as "备注"
    if FREE_TEXT_HINT.search(header) or chinese_free_text:
        return decide(FREE_TEXT, None, 0.8, "free text: scanned cell by cell for personal data")
    if values and (rate := scripts.address_rate(values)) >= 0.6:
        return decide(
            DIRECT, "ADDRESS", round(rate, 3), f"{rate:.0%} of values are Japanese, Korean or Cyrillic street addresses"
        )
    if values and (rate := scripts.korean_name_rate(values)) >= 0.8:
        return decide(DIRECT, "PERSON", round(rate, 3), f"{rate:.0%} of values are Korean names (surname + given name)")
    if values and (rate := scripts.japanese_name_rate(values)) >= 0.8:
        return decide(
            DIRECT, "PERSON", round(rate, 3), f"{rate:.0%} of values are Japanese names (family name, given name)"
        )
    if not numeric and PERSON_VALUE_HINTS.search(header) and (rate := bare_words_rate(values)) >= 0.8:
        return decide(
            DIRECT,
            "PERSON",
            round(rate, 3),
            f"header '{name}' names people and {rate:.0%} of values are words in a script the NER does not read",
            bare_words_rate=rate,
        )
    if _looks_like_free_text(values):
        return decide(FREE_TEXT, None, 0.8, "free text: scanned cell by cell for personal data")
    if not numeric and values:
        person_rate = _person_by_values(values, ner) if (PERSON_VALUE_HINTS.search(header) or len(values) > 20) else 0
        if person_rate >= 0.6:
            return decide(
                DIRECT, "PERSON", round(person_rate, 3), "values are person names (NER)", ner_rate=person_rate
            )
        shaped = name_shape_rate(values) if not NOT_A_PERSON.search(header) else 0.0
        if shaped >= 0.8 and evidence.get("uniqueness", 0) >= 0.3 and len(values) >= IDENTIFIER_MIN_VALUES:
            return decide(
                DIRECT,
                "PERSON",
                round(shaped, 3),
                f"{shaped:.0%} of values are shaped like personal names (capitalised words, not everyday vocabulary)",
                name_shape_rate=shaped,
            )
        mixed = sum(1 for x in values if _has_strong_identifier(x)) / len(values)
        if mixed >= 0.2:
            return decide(FREE_TEXT, None, round(mixed, 3), "values mix several kinds of identifiers")
    if contradiction is not None:
        return decide(SAFE, None, 0.7, f"header '{name}' suggests {hint[0]}, but {contradiction}")
    return decide(SAFE, None, 1.0, "no personal data detected")


_STRONG = [v.EMAIL_RE, v.SSN_RE, v.IBAN_RE, v.CARD_RE]


def _has_strong_identifier(text: str) -> bool:
    """An e-mail, SSN, IBAN or card, or an identity number whose check character holds (a short note "證號
    A123456789 影本" is no sentence, and such a column was kept as it was)."""
    return any(p.search(text) for p in _STRONG) or bool(chinese.checked_identifiers(text))
