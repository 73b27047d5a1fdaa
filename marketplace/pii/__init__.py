"""The PII scrubbing engine, Django-free: `scan`, `scrub` and the chunk-wise `Scrubber`."""

from marketplace.pii.engine import PiiReport, Scrubber, scan, scrub
from marketplace.pii.policy import ACTIONS, DEFAULT_ENTITY_ACTIONS, ScrubPolicy

__all__ = ["ACTIONS", "DEFAULT_ENTITY_ACTIONS", "PiiReport", "ScrubPolicy", "Scrubber", "scan", "scrub"]
