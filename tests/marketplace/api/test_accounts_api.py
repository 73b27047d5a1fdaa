import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from marketplace.models import ApiToken, Membership, Organization


def test_register_creates_user_owned_organisation_and_a_working_token(db):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/register/",
        {
            "username": "ana",
            "password": "a-long-passphrase",
            "email": "ana@example.com",
            "organization": "Ana Data",
        },
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["organization"]["name"] == "Ana Data"
    membership = Membership.objects.get(user__username="ana")
    assert (membership.organization.name, membership.role) == ("Ana Data", "owner")
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    assert client.get("/api/v1/me/").data["organization"]["name"] == "Ana Data"


def test_register_rejects_taken_names_and_weak_passwords_with_messages(provider):
    client = APIClient()
    taken = client.post(
        "/api/v1/auth/register/",
        {"username": "prov", "password": "a-long-passphrase", "organization": "New Org"},
        format="json",
    )
    weak = client.post(
        "/api/v1/auth/register/", {"username": "newbie", "password": "123", "organization": "Newbie Org"}, format="json"
    )
    missing = client.post("/api/v1/auth/register/", {"username": "x"}, format="json")

    assert (taken.status_code, taken.data["message"]) == (400, "That username is taken. Choose another one.")
    assert weak.status_code == 400 and "too short" in weak.data["message"]
    assert missing.status_code == 400 and "password" in missing.data["extra"]["fields"]
    assert missing.data["message"].startswith("Invalid input.")
    assert User.objects.count() == 1 and Organization.objects.count() == 1


def test_token_login_and_revocation(provider):
    client = APIClient()
    wrong = client.post("/api/v1/auth/token/", {"username": "prov", "password": "nope"}, format="json")
    right = client.post("/api/v1/auth/token/", {"username": "prov", "password": "correct-horse-battery"}, format="json")
    assert wrong.status_code == 400 and wrong.data["message"] == "Wrong username or password."
    assert right.status_code == 200

    client.credentials(HTTP_AUTHORIZATION=f"Token {right.data['token']}")
    assert client.get("/api/v1/datasets/").status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{right.data['id']}/").status_code == 204
    refused = client.get("/api/v1/datasets/")
    assert refused.status_code == 401 and "revoked" in refused.data["message"]
    assert ApiToken.objects.get(pk=right.data["id"]).revoked_at is not None


def test_health_answers_without_authentication(db):
    response = APIClient().get("/api/v1/health/")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_schema_and_swagger_are_served_without_a_cdn(db):
    client = APIClient()
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")
    assert schema.status_code == 200 and b"/api/v1/datasets/{id}/versions/" in schema.content
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"static/drf_spectacular_sidecar" in docs.content


@pytest.mark.parametrize("username", ["â·?@`", "bad name", "<script>", "a/b"])
def test_registration_applies_djangos_username_rules(db, username):
    from django.contrib.auth.models import User

    body = {"username": username, "password": "a-long-passphrase", "organization": f"Org {len(username)}"}
    response = APIClient().post("/api/v1/auth/register/", body, format="json")
    assert response.status_code == 400 and response.json()["extra"] == {"field": "username"}
    assert not User.objects.exists()


def test_registration_folds_look_alike_letters_and_accepts_chinese_names(db):
    client = APIClient()
    body = {"username": "ｐｒｏｖ", "password": "a-long-passphrase", "organization": "Wide"}
    assert client.post("/api/v1/auth/register/", body, format="json").json()["username"] == "prov"
    body = {"username": "张伟", "password": "a-long-passphrase", "organization": "北京数据"}
    assert client.post("/api/v1/auth/register/", body, format="json").status_code == 201
