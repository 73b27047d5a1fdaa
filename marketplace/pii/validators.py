"""Validators for identifier values: checksums and syntax, so a column is classified by what its values are."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime

import phonenumbers

# Internationalised addresses too ("иван.петров@почта.рф", "müller@bücher.de"): letters of any script written with
# spaces between words. Not Han, kana, Hangul or Thai letters, which run on into the words around an address
# ("邮箱abc@qq.com请回复" would take 邮箱 and 请回复 with it).
_EMAIL_LETTER = "[^\\W\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]"
EMAIL_RE = re.compile(
    rf"(?:{_EMAIL_LETTER}|[.%+'-])+@(?:{_EMAIL_LETTER}|[.-])+\.(?:(?!\d){_EMAIL_LETTER}){{2,}}(?<![_])"
)
# Full-width ASCII (U+FF01-U+FF5E) and the ideographic space, as Japanese and Chinese input methods type digits,
# hyphens and letters ("０９０－１２３４－５６７８", "ＩＤ：Ａ１２３"), mapped one character to one: spans found in the
# folded text are the original's.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_width(text: str) -> str:
    """`text` with full-width ASCII characters as ASCII, of the same length."""
    return text.translate(_FULL_WIDTH) if not text.isascii() else text


# A person's page on a social network or code host: the path names the person ("linkedin.com/in/jane-okafor-4b2a1",
# "facebook.com/temitope.okonjo", "github.com/jokafor", "weibo.com/u/1234567890", "vk.com/id123").
PROFILE_URL_RE = re.compile(
    r"(?:https?://)?(?:www\.|m\.|[a-z]{2}\.)?(?:linkedin\.com/(?:in|pub)/|(?:facebook|fb|instagram|twitter|x|"
    r"threads|tiktok|github|gitlab|medium|vk|weibo|douyin|xiaohongshu|pinterest|snapchat|youtube)\.com/|t\.me/|"
    r"bsky\.app/profile/)(?!(?:help|about|legal|privacy|terms|policies|settings|login|share|sharer|search|explore|"
    r"watch|hashtag|intent|home|pages|groups|events|marketplace|jobs|company|school|features|topics|trending)\b)"
    r"@?[\w.\-]{1,60}(?:/[\w.\-]*)?",
    re.IGNORECASE,
)
# "@jokafor": a handle, not the end of an e-mail address and not a decorator in code ("@property" has no digit or
# underscore and is a word; handles are kept only with a letter, three characters or more).
HANDLE_RE = re.compile(r"(?<![\w@.])@[A-Za-z][A-Za-z0-9_.]{2,29}(?<!\.)(?![\w@])")


def profile_url_valid(value: str) -> bool:
    return PROFILE_URL_RE.fullmatch(value.strip().rstrip("/")) is not None


def handle_valid(value: str) -> bool:
    return HANDLE_RE.fullmatch(value.strip()) is not None


URL_RE = re.compile(r"https?://[^\s<>\"']+|www\.[^\s<>\"']+", re.IGNORECASE)
SSN_RE = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
NINO_RE = re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIQUVO])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
CARD_RE = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
# IPv6 in its full or compressed form ("2001:db8:85a3::8a2e:370:7334"), validated by `ip_valid`.
IPV6_RE = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{5,39}(?![\w:])")
# A network card's hardware address: a device, and through it its owner.
MAC_RE = re.compile(r"(?<![\w:-])(?:(?:[0-9A-Fa-f]{2}:){5}|(?:[0-9A-Fa-f]{2}-){5})[0-9A-Fa-f]{2}(?![\w:-])")
# A vehicle identification number (ISO 3779: 17 characters, no I, O or Q) after its cue, or a licence plate after
# its own ("plate 7ABC123", "Kennzeichen B-MW 1234", "immatriculation AB-123-CD"): letters and digits both, in capitals.
VIN_RE = re.compile(r"\b(?:VIN|chassis|Fahrgestellnummer|FIN)\s*(?:no\.?|number|#|:)?\s*([A-HJ-NPR-Z0-9]{17})\b", re.I)
PLATE_RE = re.compile(
    r"\b(?i:licen[cs]e plate|number plate|plate(?: no\.?| number)?|registration(?: no\.?| number)?|reg\.? no\.?|"
    r"Kennzeichen|immatriculation|matr[ií]cula|targa|kenteken)\s*[:#]?\s*"
    r"((?=[A-Z0-9 -]*[A-Z])(?=[A-Z0-9 -]*\d)[A-Z0-9]{1,4}(?:[ -]?[A-Z0-9]{1,4}){1,3})\b"
)
# A post office box, with its town, state and ZIP where they follow ("PO Box 4471, Springfield, IL 62704").
PO_BOX_RE = re.compile(
    r"\b(?:P\.?\s?O\.?\s?Box|Post Office Box|Postfach|Apartado(?: de correos)?|Bo[iî]te postale|Casella postale)\s*"
    r"\d{1,6}(?:,\s*(?![A-Z]{2}\s+\d{5})[A-Z][\w'.-]*(?:\s[A-Z][\w'.-]*){0,2}){0,2}"
    r"(?:,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"
)
# British postcodes ("SW1A 1AA", "NW1 6XE"): their shape is distinctive enough to stand alone.
UK_POSTCODE_RE = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?) \d[ABD-HJLNP-UW-Z]{2}\b")
IPV4_RE = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")
# National IDs with a fixed shape: Spanish DNI/NIE, Italian codice fiscale, French INSEE, Dutch BSN-like 9 digits
# are too generic to detect without a header, so only the distinctive shapes are here.
DNI_RE = re.compile(r"\b[XYZ]?\d{7,8}[A-HJ-NP-TV-Z]\b")
CODICE_FISCALE_RE = re.compile(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b")
# South Korea's resident registration number: birth date (YYMMDD), a hyphen, then a digit for sex and century (1-8)
# and six more. Numbers issued since 2020 carry no check digit, so the date and that digit are what can be checked.
KR_RRN_RE = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-[1-8]\d{6}(?![\d-])")
INSEE_RE = re.compile(r"\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b")
PASSPORT_RE = re.compile(
    r"\b(?:passport|passeport|pasaporte|reisepass)\s*(?:no\.?|number|#|:)?\s*([A-Z0-9]{6,9})\b", re.I
)
DRIVER_LICENSE_RE = re.compile(
    r"\b(?:driver'?s? licen[cs]e|DL|licen[cs]e)\s*(?:no\.?|number|#|:)?\s*([A-Z0-9][A-Z0-9-]{5,14})\b", re.I
)
DOB_CONTEXT_RE = re.compile(
    r"(?:\b(?:born|DOB|date of birth|birth ?date|birthday|b\.|geb\.|geboren(?: am)?|Geburtsdatum|né(?:e)? le|"
    r"date de naissance|fecha de nacimiento|nacid[oa] el|data di nascita|nat[oa] il|data de nascimento|"
    r"nascid[oa] em|geboortedatum|дата рождения|д\.\s?р\.|родил(?:ся|ась)|дата народження|doğum tarihi|"
    r"tanggal lahir|ngày sinh|data urodzenia|ur\.)|出生日期|出生于|出生年月|生日|生年月日|誕生日|생년월일|생일)"
    r"(?:\s+(?:is|was|on|of))?\s*[:：]?\s*"
    r"(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2} [A-Z][a-z]+ \d{4}|[A-Z][a-z]+ \d{1,2},? \d{4}"
    r"|\d{4}\s?[年년]\s?\d{1,2}\s?[月월]\s?\d{1,2}\s?[日일]?)",  # 1985年3月12日, 1985년 3월 12일
    re.I,
)
# Coordinates precise to about ten metres or better (four decimals or more): a home or a visit. A pair of decimals
# is a pair of measurements too ("ratio 0.1234, 0.5678"): it counts when marked as coordinates, by a hemisphere or a
# degree sign, or after a word that names a position.
_LATITUDE = r"[-+]?(?:[1-8]?\d|90)\.\d{4,}"
_LONGITUDE = r"[-+]?(?:1[0-7]\d|\d{1,2}|180)\.\d{4,}"
COORDINATES_RE = re.compile(  # marked: 51.5074 N, 0.1278 W / 48.8584°, 2.2945°
    rf"(?<![\d.])(?:{_LATITUDE}°?\s?[NS]\s*[,;/ ]?\s*{_LONGITUDE}°?\s?[EW]|{_LATITUDE}°\s*[,;/ ]\s*{_LONGITUDE}°)"
    r"(?!\d|\.\d)"
)
CUED_COORDINATES_RE = re.compile(  # after a word that names a position: "location: 40.712776, -74.005974"
    r"(?i:\b(?:lat|lon|lng|gps|geo|coordinates|coords|location|position|latitude|longitude|loc|pos|koordinaten|"
    r"home|residence|lives|address|"
    r"coordonnées|coordenadas|координаты)|坐标|位置|座標|좌표)(?i:\s+(?:at|is|was|in|of|near))?[\s:=：(]{1,3}"
    rf"({_LATITUDE}\s*[,;/ ]\s*{_LONGITUDE})(?!\d|\.\d)"
)
STREET_TYPES = (
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Dr\.?|Court|Ct\.?|Place|Pl\.?|"
    r"Square|Sq\.?|Terrace|Way|Parkway|Pkwy|Highway|Hwy|Circle|Cir\.?|Trail|Crescent|Close|Row|Gardens|Mews"
)
ADDRESS_RES = [
    # 221B Baker Street, 1600 Pennsylvania Ave NW, Apt. 4
    re.compile(
        rf"\b\d{{1,6}}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){{0,4}}(?:{STREET_TYPES})\b(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
        r"(?:,?\s*(?:Apt\.?|Suite|Ste\.?|Unit|#)\s*\w+)?"
    ),
    # Hauptstraße 5, Bahnhofstr. 12a, Kirchweg 3
    re.compile(r"\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)\s+\d{1,5}[a-z]?\b"),
    # Via Roma 10, Rue de la Paix 5 / 5 rue de la Paix, Calle Mayor 3, Avenida da Liberdade 12
    re.compile(
        r"\b(?:\d{1,5},?\s+)?(?:Via|Viale|Piazza|Corso|Rue|Avenue|Boulevard|Calle|Avenida|Plaza|Paseo|Rua|Travessa|"
        r"Praça|Straat|Laan|Gracht|Ulica|ul\.)\s+(?:(?:de|del|della|di|da|do|dos|la|le|les|des|du)\s+)*"
        r"[A-ZÀ-Ý][\wÀ-ÿ'-]*(?:\s+[A-ZÀ-Ý][\wÀ-ÿ'-]*){0,3}(?:,?\s+\d{1,5}[A-Za-z]?)?"
    ),
]
# A letter of a script that writes no spaces between words and ends a number with a particle ("051-177-7631로",
# "070-4177-7631に"): Hangul, kana and Thai. Next to one a number still stands alone; next to a Latin or Cyrillic
# letter or a digit it is part of a code. Han characters stay a boundary: the Chinese rules find a phone after
# "电话" by its cue, and a bare number glued to Han text is as often an order number ("订单号12345678").
GLUED_SCRIPTS = "\u0e00-\u0e7f\u3040-\u30ff\u31f0-\u31ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
NOT_IN_A_WORD_BEFORE = rf"(?<![^\W{GLUED_SCRIPTS}])"  # no letter or digit of a spaced script right before
NOT_IN_A_WORD_AFTER = rf"(?![^\W{GLUED_SCRIPTS}])"
PHONE_CANDIDATE_RE = re.compile(
    rf"(?=[+(\d])(?<!\+){NOT_IN_A_WORD_BEFORE}(?:\+|00)?\(?\d[\d\s().-]{{6,18}}\d{NOT_IN_A_WORD_AFTER}"
)
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "IN", "BR", "JP", "AU", "CA", "MX", "CN", "PL", "SE")


def luhn_valid(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """ISO 13616 mod-97 check."""
    compact = re.sub(r"\s+", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def ssn_valid(value: str) -> bool:
    return SSN_RE.fullmatch(value.strip()) is not None


def nino_valid(value: str) -> bool:
    return NINO_RE.fullmatch(value.strip().upper()) is not None


def email_valid(value: str) -> bool:
    return EMAIL_RE.fullmatch(value.strip()) is not None


def ip_valid(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def url_valid(value: str) -> bool:
    return URL_RE.fullmatch(value.strip()) is not None


def phone_valid(value: str) -> bool:
    """A formatted phone number in any country: `+`/`00` prefixed, or valid in one of the common regions."""
    text = value.strip()
    digits = sum(c.isdigit() for c in text)
    if date_valid(text) or re.fullmatch(r"\d+\.\d+", text):
        return False
    if not 7 <= digits <= 15 or re.search(r"[A-Za-z]", text.replace("ext", "").replace("x", "")):
        return False
    if text.startswith(("+", "00")):
        try:
            return phonenumbers.is_possible_number(
                phonenumbers.parse("+" + text.lstrip("+0") if text.startswith("00") else text, None)
            )
        except phonenumbers.NumberParseException:
            return False
    for region in PHONE_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(text, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def date_valid(value: str) -> bool:
    text = value.strip()
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?", text) or re.fullmatch(
        r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", text
    )
    if not match:
        return False
    parts = [int(p) for p in match.groups()]
    year = parts[0] if parts[0] > 31 else parts[2]
    return 1880 <= year <= datetime.now(UTC).year + 1


def national_id_valid(value: str) -> bool:
    text = value.strip().upper()
    return bool(
        ssn_valid(text)
        or nino_valid(text)
        or DNI_RE.fullmatch(text)
        or CODICE_FISCALE_RE.fullmatch(text)
        or INSEE_RE.fullmatch(text)
        or kr_rrn_valid(text)
    )


def kr_rrn_valid(value: str) -> bool:
    """A Korean resident registration number whose birth date exists in the century its seventh digit gives."""
    text = value.strip()
    if not KR_RRN_RE.fullmatch(text):
        return False
    century = 1900 if text[7] in "1256" else 2000
    try:
        datetime(century + int(text[:2]), int(text[2:4]), int(text[4:6]), tzinfo=UTC)
    except ValueError:
        return False
    return True
