"""Anonymisation operators on single values. Deterministic given the per-dataset salt, so chunks agree."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from faker import Faker

SURROGATE_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
_FAKERS: list[Faker] = []


def _faker(seed: int) -> Faker:
    """One single-locale Faker per locale and process, picked and reseeded from the value's HMAC, so the same input
    always gets the same surrogate (seeding a multi-locale Faker would reseed every locale on every value)."""
    if not _FAKERS:
        _FAKERS.extend(Faker(locale) for locale in SURROGATE_LOCALES)
    fake = _FAKERS[seed % len(_FAKERS)]
    fake.seed_instance(seed)
    return fake


def hmac_hex(salt: bytes, value: str, entity: str = "") -> str:
    return hmac.new(salt, f"{entity}\x00{value}".encode(), hashlib.sha256).hexdigest()


def hash_value(value: str, *, salt: bytes, entity: str = "") -> str:
    """HMAC-SHA256 with the dataset's secret salt, 64 bits shown: joins work, small value spaces resist brute force.

    The entity is not mixed in, so the same e-mail in two columns hashes the same (joins across columns)."""
    return hmac_hex(salt, value.strip())[:16]


def redact_value(value: str, *, entity: str) -> str:
    return f"<{entity}>"


def mask_value(value: str, *, keep_last: int = 4) -> str:
    """Mask every letter and digit but the last `keep_last`, keeping separators: 4111-1111-1111-1111 -> ****-…-1111."""
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
    seed = int(hmac_hex(salt, value, entity)[:16], 16)
    fake = _faker(seed)
    if entity == "PERSON":
        tokens = value.split()
        originals = {token.lower() for token in tokens}
        # A surrogate must not keep any part of the real name ("Alice Johnson" -> "Alice Briand" would leak); the
        # attempts draw on from the same seeded generator, so they are as deterministic as the first.
        for _attempt in range(20):
            if len(tokens) <= 1:
                out = fake.first_name()
            elif len(tokens) == 2:
                out = f"{fake.first_name()} {fake.last_name()}"
            else:
                out = f"{fake.first_name()} {fake.first_name()} {fake.last_name()}"
            if not originals & {token.lower() for token in out.split()}:
                break
        return _match_case(value, out)
    if entity == "EMAIL_ADDRESS":
        return f"{fake.user_name()}{seed % 1000}@example.{('com', 'org', 'net')[seed % 3]}"
    if entity == "ADDRESS":
        return fake.street_address()
    if entity in ("PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "NATIONAL_ID", "BANK_ACCOUNT", "UK_NINO"):
        return _replace_digits(value, salt, entity)
    if entity == "CITY":
        return fake.city()
    return hash_value(value, salt=salt, entity=entity)


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
    """Dates to the year, zip codes to a prefix, ages to ten-year bands; anything else to a redaction tag."""
    text = value.strip()
    if entity in ("DATE_OF_BIRTH", "DATE"):
        match = _YEAR_RE.search(text)
        return match.group(0) if match else f"<{entity}>"
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
