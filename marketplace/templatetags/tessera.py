"""Template filters: amounts of money, and messages the engines wrote in English, in the reader's language."""

from __future__ import annotations

from babel.core import UnknownLocaleError
from babel.numbers import format_currency
from django import template
from django.utils.translation import get_language, to_locale

register = template.Library()


@register.filter
def money(cents: int | None, currency: str = "USD") -> str:
    """An amount in cents as the active language writes it: `$49.00` in English, `¥99.00` for CNY in Chinese,
    `CN¥99.00` for CNY in English (CLDR's rules, through Babel)."""
    if cents is None:
        return ""
    try:
        return format_currency(cents / 100, currency or "USD", locale=to_locale(get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return f"{currency} {cents / 100:,.2f}"


@register.filter
def engine_words(message: str | None) -> str:
    """A message an engine or the job runner wrote in English (job progress, PII column reasons), in the reader's
    language where the catalogue has it (`marketplace.web.engine_words`)."""
    from marketplace.web.engine_words import translate

    return translate(str(message or ""))


@register.filter
def plan_words(listing) -> list[str]:
    """A listing's pricing plan in plain words, in the reader's language."""
    from marketplace.services.licensing import listing_plan_words

    return listing_plan_words(listing)
