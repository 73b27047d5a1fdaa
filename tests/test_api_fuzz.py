"""Schemathesis over the whole OpenAPI schema, in process: every operation, with examples generated from the
schema (bounded), as a provider and as a licensed buyer with both organisations seeded. Any 5xx, or any response
that does not match its schema, fails the test. This is how a hostile user found the 500s and the schema that
described `GET /catalog/` as an array; it keeps them found.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from marketplace.services.accounts import token_create
from marketplace.wsgi import application
from tests.conftest import make_listing, make_ready_version, org_of

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
MAX_EXAMPLES = 15
# Ids of the seeded objects, by the path segment that names their kind: random ids almost never exist, so half the
# generated ids (the even ones) are pointed at real objects, and the fuzzer reaches past the 404s into the code.
REAL_IDS: dict[str, int] = {}
BODY_VERSION_FIELDS = ("dataset_version", "version")


def _real(kind: str, value):
    if isinstance(value, int) and not isinstance(value, bool) and value % 2 == 0 and kind in REAL_IDS:
        return REAL_IDS[kind]
    return value


def _point_at_real_versions(body):
    if isinstance(body, dict):
        return {
            key: _real("versions", value) if key in BODY_VERSION_FIELDS else _point_at_real_versions(value)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [_real("versions", item) if isinstance(item, int) else _point_at_real_versions(item) for item in body]
    return body


def _kind(context) -> str:
    return context.operation.path.strip("/").split("/")[2] if context.operation else ""


@schema.hook
def map_path_parameters(context, path_parameters):
    if path_parameters and "pk" in path_parameters:
        return {**path_parameters, "pk": _real(_kind(context), path_parameters["pk"])}
    return path_parameters


@schema.hook
def map_body(context, body):
    return _point_at_real_versions(body)


@pytest.fixture
def _keep_the_test_connection():
    """The WSGI handler closes database connections after each request, which would close the test's transaction;
    Django's own test client does the same as this while it calls the application."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(_keep_the_test_connection, provider, buyer, django_capture_on_commit_callbacks):
    """Both organisations with something to find: a ready, listed version, and a licence for it."""
    from marketplace.services.licensing import listing_purchase

    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version)
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="fuzz")
    asked = make_listing(provider, version, title="On request", requires_approval=True)
    access_request, _ = listing_purchase(
        buyer=org_of(buyer), user=buyer, listing=asked, idempotency_key="ask", intended_use="research"
    )
    REAL_IDS.clear()
    REAL_IDS.update(
        {
            "datasets": version.dataset_id,
            "versions": version.pk,
            "jobs": version.job_id,
            "listings": listing.pk,
            "catalog": listing.pk,
            "licenses": license.pk,
            "access-requests": access_request.pk,
        }
    )
    return {
        "provider": token_create(user=provider, name="fuzz")[1],
        "buyer": token_create(user=buyer, name="fuzz")[1],
    }


@schema.parametrize()
@seed(20261202)  # the same cases every run: a failure here is reproducible, never a flake
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx_or_off_its_schema(case, tokens):
    for who in ("provider", "buyer"):
        case.call_and_validate(
            headers={"Authorization": f"Token {tokens[who]}"},
            checks=[not_a_server_error, response_schema_conformance],
        )
