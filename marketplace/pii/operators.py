"""Anonymisation operators on single values. Deterministic given the per-dataset salt, so chunks agree."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from faker import Faker

from marketplace.pii import chinese

SURROGATE_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
POOL_SIZE = 512  # street names and cities drawn per locale, once per process
_POOL_SEED = 20261129  # fixed: every process and worker builds the same pools, so chunks agree


@dataclass(frozen=True)
class _Pools:
    """Surrogate parts of one locale: Faker's own name lists, and street names and cities drawn once from a Faker
    with a fixed seed. A surrogate is then a few picks by the value's HMAC instead of a reseeded Faker run through
    its format parser per value (about 150 microseconds for an address, most of the operators' time)."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    address_format: str  # e.g. "{number} {street}" or "{street}, {number}"


def _provider_list(fake: Faker, attribute: str) -> tuple[str, ...]:
    for provider in fake.providers:
        values = getattr(provider, attribute, None)
        if values:
            return tuple(dict.fromkeys(values))  # weighted OrderedDicts keep their keys; order is stable
    raise LookupError(attribute)


@cache
def _pools(locale: str) -> _Pools:
    fake = Faker(locale)
    fake.seed_instance(_POOL_SEED)
    formats = next(p.street_address_formats for p in fake.providers if hasattr(p, "street_address_formats"))
    plain = [f for f in formats if set(re.findall(r"{{(\w+)}}", f)) == {"building_number", "street_name"}]
    address_format = (plain or ["{{building_number}} {{street_name}}"])[0]
    return _Pools(
        first_names=_provider_list(fake, "first_names"),
        last_names=_provider_list(fake, "last_names"),
        streets=tuple(dict.fromkeys(fake.street_name() for _ in range(POOL_SIZE))),
        cities=tuple(dict.fromkeys(fake.city() for _ in range(POOL_SIZE))),
        address_format=address_format.replace("{{building_number}}", "{number}").replace("{{street_name}}", "{street}"),
    )


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", folded) or "user"


def hmac_hex(salt: bytes, value: str, entity: str = "") -> str:
    return hmac.new(salt, f"{entity}\x00{value}".encode(), hashlib.sha256).hexdigest()


def hash_value(value: str, *, salt: bytes, entity: str = "") -> str:
    """HMAC-SHA256 with the dataset's secret salt, 64 bits shown: joins work, small value spaces resist brute force.

    The entity is not mixed in, so the same e-mail in two columns hashes the same (joins across columns)."""
    return hmac_hex(salt, value.strip())[:16]


def redact_value(value: str, *, entity: str) -> str:
    return f"<{entity}>"


def mask_value(value: str, *, keep_last: int = 4) -> str:
    """Mask every letter and digit but the last `keep_last`, keeping separators: 4111-1111-1111-1111 -> ****-…-1111.
    A mainland Chinese mobile number gets the conventional 3-4-4 mask instead: 13812345678 -> 138****5678."""
    mobile = chinese.mask_mobile(value)
    if mobile is not None:
        return mobile
    alnum_positions = [i for i, c in enumerate(value) if c.isalnum()]
    hidden = set(alnum_positions[:-keep_last] if keep_last else alnum_positions)
    return "".join("*" if i in hidden else c for i, c in enumerate(value))


def _match_case(template: str, value: str) -> str:
    if template.isupper() and len(template) > 1:
        return value.upper()
    if template.islower():
        return value.lower()
    return value


def replace_value(value: str, *, salt: bytes, entity: str) -> str:
    """A consistent fake of the same kind and roughly the same format (same input -> same output in a dataset)."""
    return _replace_cached(value, salt, entity)


@lru_cache(maxsize=200_000)
def _replace_cached(value: str, salt: bytes, entity: str) -> str:
    if entity == "CN_RESIDENT_ID" and re.fullmatch(r"\d{17}[\dXx]", value.strip()):
        return _replace_resident_id(value.strip(), salt)
    if chinese.HAN_RE.search(value) and entity in ("PERSON", "ADDRESS"):
        return _replace_chinese(value, salt, entity)
    if entity in ("PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "NATIONAL_ID", "BANK_ACCOUNT", "UK_NINO"):
        return _replace_digits(value, salt, entity)
    if entity not in ("PERSON", "EMAIL_ADDRESS", "ADDRESS", "CITY"):
        return hash_value(value, salt=salt, entity=entity)
    seed = int(hmac_hex(salt, value, entity)[:16], 16)
    pools = _pools(SURROGATE_LOCALES[seed % len(SURROGATE_LOCALES)])
    pick = random.Random(seed).choice
    if entity == "PERSON":
        tokens = value.split()
        originals = {token.lower() for token in tokens}
        # A surrogate must not keep any part of the real name ("Alice Johnson" -> "Alice Briand" would leak); the
        # attempts draw on from the same seeded generator, so they are as deterministic as the first.
        for _attempt in range(20):
            if len(tokens) <= 1:
                out = pick(pools.first_names)
            elif len(tokens) == 2:
                out = f"{pick(pools.first_names)} {pick(pools.last_names)}"
            else:
                out = f"{pick(pools.first_names)} {pick(pools.first_names)} {pick(pools.last_names)}"
            if not originals & {token.lower() for token in out.split()}:
                break
        return _match_case(value, out)
    if entity == "EMAIL_ADDRESS":
        user = f"{_ascii_word(pick(pools.first_names))}.{_ascii_word(pick(pools.last_names))}"
        return f"{user}{seed % 1000}@example.{('com', 'org', 'net')[seed % 3]}"
    if entity == "ADDRESS":
        number = str(1 + (seed >> 20) % (99 if seed % 2 else 999))
        return pools.address_format.format(number=number, street=pick(pools.streets))
    return pick(pools.cities)  # CITY


@cache
def _chinese_name_parts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    fake = Faker("zh_CN")
    return _provider_list(fake, "last_names"), _provider_list(fake, "first_names")


def _replace_chinese(value: str, salt: bytes, entity: str) -> str:
    """A consistent fake Chinese name (no character of the real one), or an address generalised to its district."""
    if entity == "ADDRESS":
        district = chinese.district_of(value)
        return f"{district}<ADDRESS>" if district else "<ADDRESS>"
    surnames, given = _chinese_name_parts()
    pick = random.Random(int(hmac_hex(salt, value, entity)[:16], 16)).choice
    real = chinese.simplified(value)  # "陳" is "陈": a Traditional name must not keep its characters either
    # A name written in Traditional characters gets a fake written alike ("陳大文" -> "趙麗華", not "赵丽华").
    written = chinese.traditional if real != value else str
    for _attempt in range(20):
        out = pick(surnames) + pick(given)
        if not set(out) & set(real):
            return written(out)
    return written(out)


def _replace_resident_id(value: str, salt: bytes) -> str:
    """A surrogate identity number: the real region prefix (first 6 digits) and birth year kept, the rest drawn from
    the HMAC, month and day valid, and a correct check character, so downstream validation still passes."""
    seed = int(hmac_hex(salt, value, "CN_RESIDENT_ID")[:16], 16)
    month, day, sequence = 1 + seed % 12, 1 + (seed >> 8) % 28, (seed >> 16) % 1000
    first17 = f"{value[:10]}{month:02d}{day:02d}{sequence:03d}"
    return first17 + chinese.resident_id_check_char(first17)


def _replace_digits(value: str, salt: bytes, entity: str) -> str:
    """Keep the shape (separators, a leading +country code) and replace every other digit from an HMAC stream."""
    stream = hmac_hex(salt, value, entity + "digits")
    digits = iter(str(int(stream[i : i + 2], 16) % 10) for i in range(0, 64, 2))
    keep_prefix = len(re.match(r"^\+\d{1,3}", value).group(0)) if value.startswith("+") else 0
    out = []
    for index, char in enumerate(value):
        if char.isdigit() and index >= keep_prefix:
            out.append(next(digits, "0"))
        else:
            out.append(char)
    return "".join(out)


_YEAR_RE = re.compile(r"(18|19|20)\d{2}")


def generalize_value(value: str, *, entity: str) -> str:
    """Dates to the year, zip codes to a prefix, ages to ten-year bands, coordinates to two decimals; anything else
    to a redaction tag."""
    text = value.strip()
    if entity in ("DATE_OF_BIRTH", "DATE"):
        match = _YEAR_RE.search(text)
        return match.group(0) if match else f"<{entity}>"
    if entity == "ADDRESS" and chinese.HAN_RE.search(text):
        district = chinese.district_of(text)
        return district or f"<{entity}>"
    if entity == "CN_RESIDENT_ID" and re.fullmatch(r"\d{17}[\dXx]|\d{15}", text):
        return f"{text[:6]}-{text[6:10] if len(text) == 18 else '19' + text[6:8]}"  # region and birth year
    if entity == "GEO_COORDINATES":  # every decimal of a position to two places ("40.71, -74.01")
        rounded = re.sub(r"[-+]?\d+\.\d+", lambda m: f"{float(m.group(0)):.2f}", text)
        return rounded if rounded != text or re.search(r"\d", text) is None else f"<{entity}>"
    if entity == "ZIP_CODE":
        compact = text.replace(" ", "")
        return (
            (compact[:3] + "*" * max(len(compact) - 3, 0))
            if len(compact) > 3
            else compact[:1] + "*" * (len(compact) - 1)
        )
    if entity == "AGE":
        try:
            age = int(float(text))
        except ValueError:
            return f"<{entity}>"
        if age >= 90:
            return "90+"
        low = age // 10 * 10
        return f"{low}-{low + 9}"
    return f"<{entity}>"


def apply(action: str, value: str, *, salt: bytes, entity: str) -> str | None:
    if action == "hash":
        return hash_value(value, salt=salt, entity=entity)
    if action == "mask":
        return mask_value(value)
    if action == "replace":
        return replace_value(value, salt=salt, entity=entity)
    if action == "generalize":
        return generalize_value(value, entity=entity)
    if action == "redact":
        return redact_value(value, entity=entity)
    if action == "keep":
        return value
    raise ValueError(f"unknown action {action!r}")
