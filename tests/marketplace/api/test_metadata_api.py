"""Each listing's Croissant JSON-LD (validated by MLCommons' own `mlcroissant`) and its ODCS data contract."""

import json

import mlcroissant
import yaml

from marketplace.services.licensing import listing_purchase
from tests.conftest import CUSTOMERS_CSV, api_client_for, make_listing, make_ready_version, org_of


def test_a_listing_serves_croissant_metadata_that_mlcroissant_validates(
    provider, buyer, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=CUSTOMERS_CSV)
    listing = make_listing(provider, version, pricing={"metered": {"per_1k_rows": 50}, "trial": {"days": 7}})
    response = api_client_for(None).get(f"/api/v1/listings/{listing.pk}/croissant.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/ld+json")
    metadata = json.loads(response.content)

    dataset = mlcroissant.Dataset(jsonld=metadata)  # raises on any validation error
    assert dataset.metadata.name == listing.title
    assert not [issue for issue in dataset.metadata.ctx.issues.errors]

    (distribution,) = metadata["distribution"]
    assert distribution["sha256"] == version.sha256
    assert distribution["contentUrl"].endswith(f"/api/v1/versions/{version.pk}/download/?format=parquet")
    fields = {field["name"]: field["dataType"] for field in metadata["recordSet"][0]["field"]}
    assert list(fields) == [column["name"] for column in version.schema]
    assert "You may download the data" in metadata["license"]
    # Columns the scrubber changed are named, never their values.
    scrubbed = [c["name"] for c in version.pii_report["columns"] if c.get("kind") != "safe"]
    assert scrubbed and all(name in metadata["rai:personalSensitiveInformation"] for name in scrubbed)

    # The buyer who licenses the listing can fetch the file Croissant points at, and it has the stated SHA-256.
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="c")
    download = api_client_for(buyer).get(distribution["contentUrl"].split("testserver")[1])
    assert download.status_code == 200 and download["X-Content-SHA256-Parquet"] == version.sha256


def test_a_listing_serves_an_odcs_data_contract_with_schema_quality_terms_and_price(
    provider, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=CUSTOMERS_CSV)
    listing = make_listing(provider, version, price=1200, pricing={"metered": {"per_gb": 300, "monthly_cap": 9000}})
    response = api_client_for(None).get(f"/api/v1/listings/{listing.pk}/contract.yaml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/yaml")
    contract = yaml.safe_load(response.content)
    assert (contract["apiVersion"], contract["kind"]) == ("v3.0.0", "DataContract")
    (table,) = contract["schema"]
    assert [p["name"] for p in table["properties"]] == [c["name"] for c in version.schema]
    assert all(p["quality"][0]["metric"] == "nullValues" for p in table["properties"])
    assert contract["price"]["priceAmount"] == 12.0 and contract["price"]["priceCurrency"] == "USD"
    custom = {item["property"]: item["value"] for item in contract["customProperties"]}
    assert custom["sha256"] == version.sha256 and custom["planKind"] == "base_plus_metered"
    assert custom["meteredPricing"] == {"per_1k_rows": 0, "per_gb": 300, "monthly_cap": 9000}


def test_metadata_of_an_unpublished_or_private_listing_is_not_found_for_others(
    provider, outsider, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=CUSTOMERS_CSV)
    draft = make_listing(provider, version, publish=False)
    for path in (f"/api/v1/listings/{draft.pk}/croissant.json", f"/api/v1/listings/{draft.pk}/contract.yaml"):
        assert api_client_for(outsider).get(path).status_code == 404
        assert api_client_for(None).get(path).status_code == 404
        assert api_client_for(provider).get(path).status_code == 200
