"""Licence terms in the reader's language. `marketplace.terms` is Django-free and speaks English; its sentences are
listed here for the translation catalogue (a test keeps this list and the terms module in step)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop, ngettext

from marketplace.terms import TERMS

# Every English sentence of `marketplace.terms`, for makemessages.
SENTENCES = (
    gettext_noop("You may download the data"),
    gettext_noop("Compute-only: the data never leaves the platform"),
    gettext_noop("download"),
    gettext_noop("You may generate synthetic data from it"),
    gettext_noop("No synthetic derivatives"),
    gettext_noop("synthetic"),
    gettext_noop("You may train models on it"),
    gettext_noop("No model training"),
    gettext_noop("training"),
    gettext_noop("Commercial use allowed"),
    gettext_noop("Non-commercial use only"),
    gettext_noop("commercial"),
    # What a refusal says a licence does not allow (`Term.refusal`), completed by the entitlement services.
    gettext_noop("downloading the data (it is compute-only)"),
    gettext_noop("generating synthetic data from it"),
    gettext_noop("training models on it"),
    gettext_noop("commercial use"),
)


def terms_in_words(terms: dict[str, Any]) -> list[tuple[bool, str]]:
    """(granted, sentence) per term, then the duration, translated (see `marketplace.terms.terms_in_words`)."""
    lines = [(bool(terms.get(t.name)), gettext(t.allowed if terms.get(t.name) else t.refused)) for t in TERMS.values()]
    if "duration_days" in terms:
        days = terms.get("duration_days")
        if days:
            sentence = ngettext("Licence lasts %(days)d day", "Licence lasts %(days)d days", days) % {"days": days}
            lines.append((True, sentence))
        else:
            lines.append((True, gettext("Perpetual licence")))
    return lines
