"""Personal data found by its context, without word lists: people named next to titles, relation words, greetings
and reporting verbs; identifier codes next to identifier cues; phone numbers in international format or next to a
phone cue, whether or not libphonenumber accepts them.

Word lists decide many capitalised words quickly (`lexicon`), but a name on no list (a surname from a country the
lists do not cover) is still a name when a note says "Mrs Okonkwo", "her guardian, Tadeusz" or "Aigerim reported".
These rules read the words around a value, so they hold on names and formats nobody listed. Django-free.
"""

from __future__ import annotations

import re

from marketplace.pii.scripts import LATIN_LOWER, LATIN_UPPER
from marketplace.pii.validators import NOT_IN_A_WORD_AFTER, NOT_IN_A_WORD_BEFORE

# A capitalised name part: letters (any script with case), inner apostrophes or hyphens ("O'Neill", "Ní-Bhriain").
# Latin letters of every accent (Polish "Łukasz", Vietnamese "Trần") in their own case, and Cyrillic ones.
_PART = (
    rf"[{LATIN_UPPER}А-ЯЁ][{LATIN_LOWER}а-яё]+"
    rf"(?:['’-][{LATIN_UPPER}{LATIN_LOWER}][{LATIN_LOWER}]+)*"
)
_PARTICLE = r"(?:van|von|de|da|del|della|der|den|di|du|la|le|bin|ibn|al|el|dos|das|ter|ten)"
# One to three name parts, particles allowed between them ("Ana de la Cruz", "Jan van Dijk").
NAME = rf"{_PART}(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_PART}){{0,2}}"

TITLES = (
    r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Madam|Madame|Mme|Mlle|Monsieur|Herr|Frau|Sr|Sra|Srta|Don|Doña|"
    r"Sig|Sig\.ra|Signora|Signor|Dott|Dott\.ssa|Pan|Pani|Fr|Rev|Nurse|Sister|Capt|Officer|"
    # Vietnamese (Mr, Mrs, elder brother, elder sister, Miss, uncle), Indonesian (Mr, Mrs)
    r"Ông|Bà|Anh|Chị|Cô|Chú|Bác|ông|bà|anh|chị|cô|chú|bác|Bapak|Pak|Ibu|Bu"
)
RELATIONS = (
    r"mother|father|mum|mom|dad|parent|son|daughter|child|baby|wife|husband|partner|spouse|fianc[ée]e?|"
    r"girlfriend|boyfriend|brother|sister|sibling|twin|guardian|carer|caregiver|neighbou?r|friend|flatmate|"
    r"roommate|grandmother|grandfather|grandma|grandpa|grandson|granddaughter|aunt|uncle|cousin|nephew|niece|"
    r"stepmother|stepfather|stepson|stepdaughter|in-law|colleague|coworker|co-worker|employer|boss|manager|"
    r"landlord|landlady|tenant|nurse|clinician|physician|doctor|surgeon|therapist|GP|midwife|pharmacist|dentist|"
    r"counsel+or|social worker|case worker|caseworker|interpreter|translator|witness|referee|contact|"
    r"next of kin|emergency contact|relative|visitor|patient|client|customer|member|applicant|tenant|resident|"
    r"khách hàng|bệnh nhân|pelanggan|pasien|müşteri|hasta"  # customer, patient: Vietnamese, Indonesian, Turkish
)
REPORTING_VERBS = (
    r"said|says|reported|reports|stated|states|told|tells|asked|asks|phoned|rang|mentioned|"
    r"explained|complained|confirmed|denied|agreed|wrote|writes|visited|arrived|"
    r"requested|declined|refused|signed|consented|attended|accompanied|insisted"
)
GREETINGS = r"Hi|Hello|Hey|Dear|Thanks|Thank you|Cheers|Regards|Best|Sincerely|Bonjour|Hallo|Hola|Ciao|Olá|Hej"


def by_first_letter(alternation: str) -> str:
    """The same alternation with its branches grouped under their first letter ("mother|mum|father" becomes
    "m(?:other|um)|f(?:ather)"): Python's regex engine tries every branch at every word boundary, and a note has
    hundreds of boundaries, so this made the cue patterns several times faster. For case-insensitive use; branches
    keep their order within a letter, and branches of different letters never match at the same place, so what
    matches is unchanged."""
    branches, depth, start = [], 0, 0
    for index, char in enumerate(alternation):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(alternation[start:index])
            start = index + 1
    branches.append(alternation[start:])
    groups: dict[str, list[str]] = {}
    for branch in branches:
        if not branch[:1].isalnum():
            groups.setdefault(branch, [])  # "#", or a branch that opens with regex syntax: kept whole, as written
            continue
        groups.setdefault(branch[0].lower(), []).append(branch[1:])
    return "|".join(head if not rests else f"{head}(?:{'|'.join(rests)})" for head, rests in groups.items())


_RELATIONS_FAST = by_first_letter(RELATIONS)
_TITLE_RE = re.compile(rf"\b(?:{TITLES})\.?\s+({NAME})")
# Relation words in any case ("Mother", "mother"); the name itself must be capitalised.
_RELATION_BEFORE_RE = re.compile(
    rf"\b(?i:{_RELATIONS_FAST})\b(?:\s*,\s*|\s+)(?:(?i:named|called|is|was)\s+)?(?:(?:{TITLES})\.?\s+)?({NAME})"
)
_RELATION_AFTER_RE = re.compile(
    rf"({NAME})\s*(?:\(|,\s*|\s+-\s+)(?i:the|her|his|their|my|our|a|an|patient's|client's)\s+(?i:{_RELATIONS_FAST})\b"
)
_GREETING_RE = re.compile(rf"(?:^|[\n.!?]\s*|\s)(?:{GREETINGS})\s*,?\s+({NAME})\b")
_SIGNATURE_RE = re.compile(
    rf"(?:^|\n|[.!?]\s+)(?:[-–—~]+\s*|(?:Regards|Best|Thanks|Cheers|Sincerely),?\s+)({NAME})\s*$"
)
_REPORTING_RE = re.compile(rf"({NAME})\s+(?:{REPORTING_VERBS})\b")
# The agent of a passive verb or a companion ("seen by Tadeusz", "discussed with Aigerim Bekova", "a message from
# Ravi", "spoke to Noor"): weak cues, like reporting verbs, so everyday words after them ("by Monday", "with
# Insulin", "to Cardiology") are no names.
_AGENT_RE = re.compile(rf"\b(?i:by|with|to|from)\s+({NAME})")

IDENTIFIER_CUES = (
    r"member(?:ship)?|account|acct|policy|polic[ey] holder|MRN|medical record|record|patient|customer|client|case|"
    r"claim|ref(?:erence)?|ID|insurance|insured|subscriber|card|badge|employee|staff|student|passport|"
    r"licen[cs]e|permit|registration|reg|file|chart|ticket|order|contract|invoice|Mitglied(?:s)?|"
    # identity documents by name: "document number S1639683D", "NRIC S1234567D", "PAN ABCPE1234F", "Aadhaar …"
    r"document|doc|identity|identification|NRIC|FIN|PAN|TIN|SIN|CPF|RRN|Aadhaar|"
    r"Versicherte[nr]?|Kunden|Akte|numéro|número|dossier|tessera|matricola|n[°º]|#|"
    # identity and tax numbers by their own names in German, French, Spanish, Italian, Dutch, Polish, Swedish
    r"Ausweis(?:nummer)?|Personalausweis(?:nummer)?|Steuer(?:nummer|-?ID)|Sozialversicherungsnummer|"
    r"carte d'identité|sécurité sociale|DNI|NIE|NIF|codice fiscale|BSN|PESEL|personnummer"
)
# A code: letters and digits (at least two digits), 4 to 24 characters, inner separators allowed.
_CODE = r"(?=[A-Z0-9/.-]*\d[A-Z0-9/.-]*\d)[A-Z0-9][A-Z0-9/.-]{2,22}[A-Z0-9]"
# Cue words in any case; the code itself in capitals and digits ("no 500mg tablets" has no code).
_IDENTIFIER_RE = re.compile(
    rf"(?:\b|(?<=#))(?i:{by_first_letter(IDENTIFIER_CUES)})(?:\b|(?<=#))\.?(?:\s*(?i:no\.?|nr\.?|number|num\.?|#|id|code|n[°º]))?"
    rf"\s*[:#=]?\s*({_CODE})\b"
)
PHONE_CUES = (
    r"phone|telephone|tel|mobile|mob|cell|cellphone|call|called|calling|ring|rang|text|texted|sms|fax|whatsapp|"
    r"signal|contact(?:ed)?|reach(?:ed)?|number|Handy|Telefon|téléphone|portable|teléfono|telefono|cellulare"
)
_PHONE_BODY = r"\+?\(?\d[\d\s().\-/]{5,20}\d"
_INTERNATIONAL_PHONE_RE = re.compile(
    rf"(?<!\+){NOT_IN_A_WORD_BEFORE}\+\d{{1,3}}(?:[\s.\-/]?\(?\d{{1,5}}\)?){{2,6}}{NOT_IN_A_WORD_AFTER}"
)
_CUED_PHONE_RE = re.compile(
    rf"\b(?:{by_first_letter(PHONE_CUES)})\b[^\d+\n]{{0,25}}({_PHONE_BODY}){NOT_IN_A_WORD_AFTER}", re.IGNORECASE
)


def is_international_phone(value: str) -> bool:
    """A value written as an international phone number ("+263 196 474 1950"): a plus, a country code and 8 to 15
    digits in all, whether or not libphonenumber knows the numbering plan."""
    text = value.strip()
    return _INTERNATIONAL_PHONE_RE.fullmatch(text) is not None and 8 <= _digits(text) <= 15


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _trim_name(text: str, start: int, end: int, is_ordinary) -> tuple[int, int] | None:
    """Drop ordinary words at the edges of a name match ("Anna Monday" -> "Anna"); None if nothing is left."""
    parts = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    while parts and is_ordinary(text[parts[-1][0] : parts[-1][1]]):
        parts.pop()
    while parts and is_ordinary(text[parts[0][0] : parts[0][1]]):
        parts.pop(0)
    if not parts:
        return None
    return parts[0][0], parts[-1][1]


def context_spans(text: str, *, is_ordinary, is_frequent, is_vocabulary=None) -> list[tuple[int, int, str]]:
    """(start, end, entity) of names, identifier codes and phone numbers found by their context in `text`.

    `is_ordinary(word)` says a capitalised word names no person in any context (function words, weekdays,
    months, the vocabulary of notes); `is_frequent(word)` says it is an everyday word, which needs a strong cue
    (a title, a relation word, a greeting) rather than a weak one (a reporting verb) to count as a name;
    `is_vocabulary(word)` (default `is_frequent`) says the same for the weakest cues ("with", "by", "to", "from")."""
    found: list[tuple[int, int, str]] = []
    # Strong cues (a title, a relation word, a greeting, a signature) make any capitalised word a name.
    for pattern in (_TITLE_RE, _RELATION_BEFORE_RE, _GREETING_RE, _RELATION_AFTER_RE, _SIGNATURE_RE):
        for match in pattern.finditer(text):
            trimmed = _trim_name(text, match.start(1), match.end(1), is_ordinary)
            if trimmed is not None:
                found.append((*trimmed, "PERSON"))
    for match in _REPORTING_RE.finditer(text):
        trimmed = _trim_name(text, match.start(1), match.end(1), lambda w: is_ordinary(w) or is_frequent(w))
        if trimmed is not None:
            found.append((*trimmed, "PERSON"))
    # "with", "to" and "from" precede products, brands and places far more often than "said" follows them: any word
    # of the vocabulary (`is_vocabulary`, e.g. places and organisations too) ends the name there.
    vocabulary = is_vocabulary or is_frequent
    for match in _AGENT_RE.finditer(text):
        trimmed = _trim_name(text, match.start(1), match.end(1), lambda w: is_ordinary(w) or vocabulary(w))
        if trimmed is not None:
            found.append((*trimmed, "PERSON"))
    for match in _IDENTIFIER_RE.finditer(text):
        code = match.group(1)
        if _digits(code) >= 2 and not re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}", code):
            found.append((match.start(1), match.end(1), "IDENTIFIER"))
    for match in _INTERNATIONAL_PHONE_RE.finditer(text):
        if 8 <= _digits(match.group(0)) <= 15:
            found.append((match.start(), match.end(), "PHONE_NUMBER"))
    for match in _CUED_PHONE_RE.finditer(text):
        if 7 <= _digits(match.group(1)) <= 15 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", match.group(1).strip()):
            found.append((match.start(1), match.end(1), "PHONE_NUMBER"))
    return found
