"""Licence terms: the one description of every term that publishing, the catalogue, entitlements, synthesis,
training, the web pages and the API read. Django-free.

Adding a term is a change here (plus a data migration for listings and licences that predate it). Every flag
combines across sources as "most restrictive": a derivative may do X only if every source licence allows X.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Term:
    name: str  # key in Listing.terms / License.terms
    allowed: str  # plain words when the term is granted
    refused: str  # plain words when it is not
    refusal: str  # completes "Your licence does not allow ..."
    filter_label: str  # the catalogue's filter checkbox
    offered_by_default: bool  # the listing form's initial value


TERMS: dict[str, Term] = {
    term.name: term
    for term in (
        Term(
            "download",
            "You may download the data",
            "Compute-only: the data never leaves the platform",
            "downloading the data (it is compute-only)",
            "download",
            True,
        ),
        Term(
            "synthetic_derivatives",
            "You may generate synthetic data from it",
            "No synthetic derivatives",
            "generating synthetic data from it",
            "synthetic",
            True,
        ),
        Term(
            "model_training",
            "You may train models on it",
            "No model training",
            "training models on it",
            "training",
            True,
        ),
        Term(
            "commercial_use",
            "Commercial use allowed",
            "Non-commercial use only",
            "commercial use",
            "commercial",
            False,
        ),
    )
}
TERM_FLAGS: tuple[str, ...] = tuple(TERMS)


MAX_DURATION_DAYS = 36_500  # a hundred years; longer is "perpetual" (null), and dates past year 9999 overflow


class TermsError(ValueError):
    """Terms that cannot be accepted; the message says which field and why."""


def terms_clean(terms: Any) -> dict[str, Any]:
    """Validated terms with every flag present (missing flags are False) and `duration_days` (None = perpetual)."""
    terms = terms or {}
    if not isinstance(terms, dict):
        raise TermsError("terms must be an object.")
    unknown = set(terms) - {*TERM_FLAGS, "duration_days"}
    if unknown:
        raise TermsError(f"Unknown licence terms: {', '.join(sorted(unknown))}.")
    cleaned: dict[str, Any] = {}
    for flag in TERM_FLAGS:
        value = terms.get(flag, False)
        if not isinstance(value, bool):
            raise TermsError(f"terms.{flag} must be true or false.")
        cleaned[flag] = value
    duration = terms.get("duration_days")
    if duration is not None and (
        not isinstance(duration, int) or isinstance(duration, bool) or not 0 < duration <= MAX_DURATION_DAYS
    ):
        raise TermsError(
            f"terms.duration_days must be a whole number of days from 1 to {MAX_DURATION_DAYS}, or null for perpetual."
        )
    cleaned["duration_days"] = duration
    return cleaned


def terms_combine(term_sets: Iterable[dict[str, Any]]) -> dict[str, bool]:
    """The most restrictive combination: a flag holds only if every set grants it. No sets: owned outright."""
    sets = list(term_sets)
    return {flag: all(bool(terms.get(flag)) for terms in sets) for flag in TERM_FLAGS}


def terms_in_words(terms: dict[str, Any]) -> list[tuple[bool, str]]:
    """(granted, sentence) per term, then the duration, for listing pages and model cards."""
    lines = [(bool(terms.get(t.name)), t.allowed if terms.get(t.name) else t.refused) for t in TERMS.values()]
    if "duration_days" in terms:
        days = terms.get("duration_days")
        lines.append((True, f"Licence lasts {days} days" if days else "Perpetual licence"))
    return lines


def term_refusal(flag: str) -> str:
    return TERMS[flag].refusal
