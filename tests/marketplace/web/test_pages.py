import pytest
from django.contrib.auth.models import User
from django.test import Client

from marketplace.models import ApiToken, Dataset, DatasetVersion
from marketplace.services.datasets import dataset_create, version_upload
from tests.conftest import CUSTOMERS_CSV, PASSWORD, org_of, upload_file


def _login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_signup_creates_an_organisation_and_logs_in(db):
    client = Client()
    response = client.post(
        "/signup/",
        {"username": "erin", "email": "erin@example.com", "organization": "Erin Co", "password": "a-long-passphrase"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert User.objects.get(username="erin").memberships.get().organization.name == "Erin Co"
    assert "Erin Co" in client.get("/dashboard/").content.decode()


def test_signup_shows_the_error_when_the_organisation_exists(provider):
    response = Client().post(
        "/signup/", {"username": "new", "organization": "Provider Org", "password": "a-long-passphrase"}
    )
    assert response.status_code == 200
    assert "An organisation with that name exists" in response.content.decode()
    assert User.objects.count() == 1


def test_upload_form_creates_dataset_and_version_and_redirects_to_it(provider, django_capture_on_commit_callbacks):
    client = _login(provider)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/datasets/new/",
            {"title": "Customers", "modality": "tabular", "tags": "crm, b2b", "file": upload_file(CUSTOMERS_CSV)},
        )
    version = DatasetVersion.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/versions/{version.pk}/"
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert version.dataset.tags == ["crm", "b2b"]
    assert 'id="preview"' in page and "gold" in page and "Alice Johnson" not in page
    assert f"/api/v1/versions/{version.pk}/download/?format=csv" in page


def test_upload_form_rejects_unknown_types_and_keeps_nothing(provider):
    response = _login(provider).post(
        "/datasets/new/", {"title": "x", "modality": "tabular", "file": upload_file("a", "notes.docx")}
    )
    assert response.status_code == 200 and "Unsupported file type" in response.content.decode()
    assert Dataset.objects.count() == 0


def test_status_fragment_polls_while_processing(provider):
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    version = version_upload(
        dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV)
    )  # not committed: no task
    fragment = _login(provider).get(f"/versions/{version.pk}/status/").content.decode()
    assert 'hx-trigger="every 1s"' in fragment and 'id="ingest-progress"' in fragment


@pytest.mark.parametrize("path", ["/datasets/{dataset}/", "/versions/{version}/", "/versions/{version}/status/"])
def test_other_organisations_pages_are_404(path, provider, outsider, django_capture_on_commit_callbacks):
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    with django_capture_on_commit_callbacks(execute=True):
        version = version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV))
    url = path.format(dataset=dataset.pk, version=version.pk)
    assert _login(outsider).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # anonymous: to the login page


def test_tokens_page_creates_shows_once_and_revokes(provider):
    client = _login(provider)
    created = client.post("/account/tokens/", {"name": "pipeline"}).content.decode()
    token = ApiToken.objects.get()
    assert 'id="new-token"' in created and token.prefix in created
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert 'id="new-token"' not in client.get("/account/tokens/").content.decode()


def test_logout_requires_post_and_csrf(provider):
    client = Client(enforce_csrf_checks=True)
    client.login(username=provider.username, password=PASSWORD)
    assert client.post("/logout/").status_code == 403


def test_the_version_page_says_which_notes_the_scrubbing_could_not_read_in_the_readers_language(
    provider, django_capture_on_commit_callbacks
):
    from tests.marketplace.api.test_market_api import ARABIC_NOTES_CSV

    client = _login(provider)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/datasets/new/",
            {"title": "CRM", "modality": "tabular", "file": upload_file(ARABIC_NOTES_CSV)},
        )
    version = DatasetVersion.objects.get()
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert 'class="error-box unread-text"' in page and "Arabic script" in page
    assert "not publishable: free text in a script the scrubbing cannot read" in page
    chinese = client.get(f"/versions/{version.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "引擎无法在其中识别姓名" in chinese and "不可发布" in chinese


def test_an_excel_workbook_uploads_like_a_csv_and_its_personal_data_is_scrubbed(
    provider, django_capture_on_commit_callbacks
):
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["姓名", "手机", "城市", "消费金额"])
    for index, (name, city) in enumerate([("张伟", "上海"), ("王芳", "北京"), ("李娜", "深圳")] * 10):
        book.active.append([name, f"1381234{5000 + index:04d}", city, 100 + index])
    buffer = io.BytesIO()
    book.save(buffer)
    client = _login(provider)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/datasets/new/",
            {"title": "会员", "modality": "tabular", "file": upload_file(buffer.getvalue(), "members.xlsx")},
        )
    version = DatasetVersion.objects.get()
    assert response.status_code == 302 and version.status == "ready", version.error
    assert version.row_count == 30
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert "13812345000" not in page and "张伟" not in page and "上海" in page
