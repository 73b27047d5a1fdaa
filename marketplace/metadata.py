"""Machine-readable descriptions of a listing: MLCommons Croissant 1.0 JSON-LD and an Open Data Contract Standard
(ODCS v3) data contract. Django-free: the API gathers a `ListingFacts` and these functions shape it.

Croissant describes the one file a licensed buyer can fetch (the scrubbed canonical Parquet, with its SHA-256) and
one record set whose fields are the schema's columns; the licence terms and the PII treatment go into the
description and `rai:` (Responsible AI) properties, and the provenance into `isBasedOn`/`version`. The contract holds
the same schema with logical types, the quality figures of the profile, the terms and the price plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
# Our column types → Croissant data types and ODCS logical types.
CROISSANT_TYPES = {
    "integer": "sc:Integer",
    "float": "sc:Float",
    "boolean": "sc:Boolean",
    "datetime": "sc:Date",
    "string": "sc:Text",
}
ODCS_TYPES = {"integer": "integer", "float": "number", "boolean": "boolean", "datetime": "date", "string": "string"}
PARQUET_MIME = "application/x-parquet"


@dataclass(frozen=True)
class ListingFacts:
    """What a listing's metadata says: everything comes from the listing, its version and its plan."""

    listing_id: int
    title: str
    summary: str
    description: str
    provider: str
    url: str  # the listing's page
    download_url: str  # the licensed download (entitlement checked there)
    version_id: int
    version_number: int
    sha256: str
    size_bytes: int
    row_count: int | None
    columns: list[dict[str, Any]]  # the version's schema/profile: name, type, nulls, null_fraction, distinct, ...
    terms: dict[str, Any]
    terms_words: list[str]  # the terms in plain words
    plan: dict[str, Any]  # marketplace.pricing.plan_snapshot of the listing
    pii_columns: list[dict[str, Any]]  # columns the scrubber changed: name, entities, action
    tags: list[str] = field(default_factory=list)
    is_synthetic: bool = False
    published_at: str | None = None


def _licence_text(facts: ListingFacts) -> str:
    return f"Tessera licence for listing {facts.listing_id}: " + "; ".join(facts.terms_words) + "."


def croissant(facts: ListingFacts) -> dict[str, Any]:
    """The listing as Croissant 1.0 JSON-LD."""
    file_id = f"version-{facts.version_id}.parquet"
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"rows/{column['name']}",
            "name": column["name"],
            "description": _column_words(column),
            "dataType": CROISSANT_TYPES.get(column.get("type", "string"), "sc:Text"),
            "source": {"fileObject": {"@id": file_id}, "extract": {"column": column["name"]}},
        }
        for column in facts.columns
    ]
    pii = "; ".join(f"{c['name']}: {', '.join(c.get('entities') or [])} ({c.get('action')})" for c in facts.pii_columns)
    return {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": facts.title,
        "description": (facts.summary or facts.description or facts.title),
        "url": facts.url,
        "license": _licence_text(facts),
        "creator": {"@type": "sc:Organization", "name": facts.provider},
        "publisher": {"@type": "sc:Organization", "name": "Tessera"},
        "version": f"{facts.version_number}.0.0",
        "datePublished": facts.published_at,
        "keywords": facts.tags,
        "isAccessibleForFree": facts.plan.get("kind") == "free",
        "offers": _offers(facts),
        "rai:dataCollection": "Uploaded by the provider; personal data removed by Tessera's PII scrubber before "
        "listing." + (" Synthetic rows generated on Tessera from licensed sources." if facts.is_synthetic else ""),
        "rai:personalSensitiveInformation": pii or "No column needed scrubbing.",
        "distribution": [
            {
                "@type": "cr:FileObject",
                "@id": file_id,
                "name": file_id,
                "description": "The scrubbed canonical Parquet; served only to licences that allow download.",
                "contentUrl": facts.download_url,
                "contentSize": f"{facts.size_bytes} B",
                "encodingFormat": PARQUET_MIME,
                "sha256": facts.sha256,
            }
        ],
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "rows",
                "name": "rows",
                "description": f"{facts.row_count} rows" if facts.row_count is not None else "rows",
                "field": fields,
            }
        ],
    }


def _offers(facts: ListingFacts) -> dict[str, Any]:
    plan = facts.plan
    offer: dict[str, Any] = {
        "@type": "sc:Offer",
        "price": plan.get("base_fee", 0) / 100,
        "priceCurrency": plan.get("currency", "USD"),
        "description": plan.get("kind", "free"),
    }
    return offer


def _column_words(column: dict[str, Any]) -> str:
    parts = [column.get("type", "string")]
    if column.get("null_fraction"):
        parts.append(f"{column['null_fraction']:.1%} empty")
    if column.get("distinct") is not None:
        parts.append(f"{column['distinct']}{'+' if column.get('distinct_is_lower_bound') else ''} distinct values")
    return ", ".join(parts)


def data_contract(facts: ListingFacts) -> dict[str, Any]:
    """The listing as an Open Data Contract Standard v3.0 document (serialise it as YAML)."""
    properties = []
    for column in facts.columns:
        kind = column.get("type", "string")
        prop: dict[str, Any] = {
            "name": column["name"],
            "logicalType": ODCS_TYPES.get(kind, "string"),
            "physicalType": kind,
            "required": not column.get("nulls"),
        }
        quality = []
        if column.get("null_fraction") is not None:
            quality.append(
                {
                    "type": "library",
                    "metric": "nullValues",
                    "unit": "percent",
                    "mustBeLessOrEqualTo": round(100 * float(column["null_fraction"]), 4),
                    "description": "Share of empty values in this version (measured at ingest).",
                }
            )
        if quality:
            prop["quality"] = quality
        properties.append(prop)
    plan = facts.plan
    price: dict[str, Any] = {"priceAmount": plan.get("base_fee", 0) / 100, "priceCurrency": plan.get("currency")}
    if plan.get("metered"):
        price["priceUnit"] = "per 1000 rows read, per GB downloaded (metered; see customProperties)"
    custom = [
        {"property": "tesseraListing", "value": facts.listing_id},
        {"property": "tesseraVersion", "value": facts.version_id},
        {"property": "sha256", "value": facts.sha256},
        {"property": "planKind", "value": plan.get("kind")},
        {"property": "meteredPricing", "value": plan.get("metered")},
        {"property": "trial", "value": plan.get("trial")},
        {"property": "isSynthetic", "value": facts.is_synthetic},
    ]
    return {
        "apiVersion": "v3.0.0",
        "kind": "DataContract",
        "id": f"tessera-listing-{facts.listing_id}-version-{facts.version_id}",
        "name": facts.title,
        "version": f"{facts.version_number}.0.0",
        "status": "active",
        "domain": "tessera-marketplace",
        "dataProduct": facts.title,
        "tenant": facts.provider,
        "description": {
            "purpose": facts.summary or facts.title,
            "usage": "; ".join(facts.terms_words),
            "limitations": "Personal data was scrubbed before listing: "
            + (", ".join(c["name"] for c in facts.pii_columns) or "no column needed it")
            + ".",
        },
        "tags": facts.tags,
        "schema": [
            {
                "name": "rows",
                "physicalName": f"version-{facts.version_id}.parquet",
                "physicalType": "table",
                "logicalType": "object",
                "description": f"{facts.row_count} rows",
                "properties": properties,
            }
        ],
        "price": price,
        "slaProperties": [{"property": "retention", "value": plan.get("duration_days") or "perpetual"}],
        "customProperties": custom,
    }
