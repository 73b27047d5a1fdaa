"""Independent re-scan of scrubbed output with Presidio's own recognizers (no NER, so no model load)."""

from __future__ import annotations

import functools


@functools.cache
def _offline_tldextract() -> None:
    """Presidio's e-mail and URL validation call tldextract, which would fetch the public suffix list over the
    network; point it at the snapshot bundled with the package instead."""
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = extractor
    tldextract.tldextract.TLD_EXTRACTOR = extractor


@functools.cache
def presidio_recognizers() -> tuple:
    _offline_tldextract()
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    return (
        EmailRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        UsSsnRecognizer(),
        PhoneRecognizer(supported_regions=("US", "GB", "DE", "FR", "IT", "ES", "IN", "BR", "JP", "AU", "NL", "CA")),
    )


def presidio_findings(text: str, *, min_score: float = 0.6) -> list[str]:
    """Entity types Presidio's pattern recognizers still find in `text`."""
    found = []
    for recognizer in presidio_recognizers():
        for result in recognizer.analyze(text, recognizer.supported_entities, None):
            if result.score >= min_score:
                found.append(result.entity_type)
    return found
