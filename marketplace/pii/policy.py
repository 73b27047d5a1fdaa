"""What to do with each kind of personal data: defaults per entity, overrides per entity and per column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("keep", "drop", "redact", "mask", "hash", "replace", "generalize")

# Defaults: names and addresses get consistent fakes (the data stays realistic), identifiers that others join on are
# hashed with the dataset's secret salt (joins inside the dataset still work), cards keep their last 4 (as receipts
# do), birth dates and other quasi-identifiers are generalised, free text has entities redacted in place.
DEFAULT_ENTITY_ACTIONS: dict[str, str] = {
    "PERSON": "replace",
    "EMAIL_ADDRESS": "hash",
    "PHONE_NUMBER": "hash",
    "US_SSN": "hash",
    "NATIONAL_ID": "hash",
    "UK_NINO": "hash",
    "PASSPORT": "hash",
    "DRIVER_LICENSE": "hash",
    "TAX_ID": "hash",
    "IDENTIFIER": "hash",
    "CN_RESIDENT_ID": "hash",  # or "replace": a surrogate with a valid check character and the same region
    "CN_USCC": "hash",
    "CN_QQ": "hash",
    "CN_WECHAT": "hash",
    "CN_LICENSE_PLATE": "hash",  # member, account, record numbers found by their values (a code column, a cued code)
    "CREDIT_CARD": "mask",
    "IBAN_CODE": "mask",
    "BANK_ACCOUNT": "mask",
    "IP_ADDRESS": "hash",
    "DEVICE_ID": "hash",
    "VEHICLE_ID": "hash",
    "USERNAME": "hash",
    "ADDRESS": "replace",
    "DATE_OF_BIRTH": "generalize",
    "URL": "keep",
    "ZIP_CODE": "generalize",
    "GEO_COORDINATES": "generalize",  # to two decimals: about a kilometre
    "AGE": "generalize",
    "CITY": "keep",
    "GENDER": "keep",
    "LOCATION": "keep",
}


@dataclass(frozen=True)
class ScrubPolicy:
    """A provider's scrubbing choices; JSON round-trips through `to_dict` / `from_dict`."""

    # Column name -> action; wins over everything else (e.g. {"notes": "drop", "plan": "keep"}).
    columns: dict[str, str] = field(default_factory=dict)
    # Entity type -> action for whole identifier columns (e.g. {"PERSON": "hash"}); unset entities use the defaults.
    entities: dict[str, str] = field(default_factory=dict)
    # Largest share of residual findings per scrubbed cell at which a version may still be published.
    residual_threshold: float = 0.001
    # Smallest k-anonymity group size below which the report warns (it does not block publishing).
    k_anonymity_warning: int = 5

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ScrubPolicy:
        data = data or {}
        if not isinstance(data, dict):
            raise ValueError("the policy must be a JSON object")
        unknown = set(data) - {"columns", "entities", "residual_threshold", "k_anonymity_warning"}
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        columns = data.get("columns") or {}
        entities = data.get("entities") or {}
        if not isinstance(columns, dict) or not isinstance(entities, dict):
            raise ValueError("'columns' and 'entities' must map names to actions")
        for name, action in [*columns.items(), *entities.items()]:
            if action not in ACTIONS:
                raise ValueError(f"unknown action {action!r} for {name!r}; use one of {', '.join(ACTIONS)}")
        threshold = float(data.get("residual_threshold", 0.001))
        if not 0 <= threshold <= 1:
            raise ValueError("residual_threshold must be between 0 and 1")
        return cls(
            columns={str(k): str(v) for k, v in columns.items()},
            entities={str(k).upper(): str(v) for k, v in entities.items()},
            residual_threshold=threshold,
            k_anonymity_warning=int(data.get("k_anonymity_warning", 5)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": dict(self.columns),
            "entities": dict(self.entities),
            "residual_threshold": self.residual_threshold,
            "k_anonymity_warning": self.k_anonymity_warning,
        }

    def action_for(self, column: str, entity: str | None, kind: str) -> str:
        if column in self.columns:
            return self.columns[column]
        if kind == "free_text":
            return "redact"
        if kind == "safe" or entity is None:
            return "keep"
        return self.entities.get(entity, DEFAULT_ENTITY_ACTIONS.get(entity, "redact"))
