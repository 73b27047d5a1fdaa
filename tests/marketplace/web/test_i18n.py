"""The interface in Simplified Chinese: chosen by Accept-Language or by the switcher, with amounts in the reader's
format, and a catalogue of translations that is complete and compiled."""

from pathlib import Path

import polib
from django.test import Client

from tests.conftest import PASSWORD, make_listing, make_ready_version

LOCALE = Path(__file__).resolve().parents[3] / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_accept_language_zh_hans_gives_the_chinese_interface_and_english_stays_the_default(db):
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get("/").content.decode()
    assert '<html lang="zh-hans">' in chinese and "可授权使用的数据" in chinese and ">登录</a>" in chinese
    english = Client().get("/").content.decode()
    assert '<html lang="en">' in english and "Data you can license" in english


def test_the_switcher_remembers_the_language_over_the_browsers(provider):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/catalog/"})
    assert response.status_code == 302 and response["Location"] == "/catalog/"
    page = client.get("/catalog/").content.decode()
    assert "<h1>数据目录</h1>" in page and 'placeholder="搜索标题、描述、标签、列名"' in page
    assert client.login(username=provider.username, password=PASSWORD)
    assert "还没有数据集。" in client.get("/dashboard/").content.decode()


def test_prices_are_written_as_the_readers_language_writes_them(provider, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    make_listing(provider, version, title="Yuan", price=990050, currency="CNY")
    make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks), title="Dollar", price=4900)
    english = Client().get("/catalog/").content.decode()
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/catalog/").content.decode()
    assert "CN¥9,900.50" in english and "$49.00" in english
    assert "¥9,900.50" in chinese and "US$49.00" in chinese and "已授权" not in chinese


def test_api_errors_answer_in_the_language_the_client_asks_for(db):
    assert Client().get("/api/v1/me/").json()["message"].startswith("Authentication credentials")
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/me/").json()["message"]
    assert chinese == "身份认证信息未提供。"


def test_every_string_is_translated_and_the_compiled_catalogue_matches_it():
    po = polib.pofile(str(LOCALE / "django.po"))
    assert po.untranslated_entries() == [] and po.fuzzy_entries() == []
    compiled = {entry.msgid: entry.msgstr or entry.msgstr_plural for entry in polib.mofile(str(LOCALE / "django.mo"))}
    assert all(compiled.get(entry.msgid) == (entry.msgstr or entry.msgstr_plural) for entry in po)


def test_every_licence_term_sentence_is_in_the_translation_catalogue():
    """The terms module is Django-free and speaks English; the web layer translates its sentences, which must all be
    listed for makemessages, and translated."""
    from marketplace.terms import TERMS
    from marketplace.web.term_words import SENTENCES

    words = {w for t in TERMS.values() for w in (t.allowed, t.refused, t.filter_label)}
    assert words <= set(SENTENCES)
    translated = {entry.msgid for entry in polib.pofile(str(LOCALE / "django.po")) if entry.msgstr}
    assert words <= translated


def test_a_listing_page_states_its_terms_in_chinese(provider, django_capture_on_commit_callbacks):
    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks))
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(f"/catalog/{listing.pk}/").content.decode()
    assert "您可以下载数据" in page and "永久许可" in page


def test_our_own_api_errors_answer_in_chinese_when_asked(provider, buyer, api_for, django_capture_on_commit_callbacks):
    """ApplicationError and NotFound messages come from our services and views, not DRF: they follow
    Accept-Language too, and so does the prefix of a validation error."""
    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks))
    api = api_for(buyer)
    url = f"/api/v1/listings/{listing.pk}/purchase/"
    assert api.post(url, {}, format="json").json()["message"].startswith("Send an Idempotency-Key header")
    chinese = api.post(url, {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 400 and chinese.json()["message"].startswith("每次购买都需要发送 Idempotency-Key")
    missing = api.get("/api/v1/jobs/999999/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert missing.status_code == 404 and missing.json()["message"] == "未找到任务。"
    invalid = api.post("/api/v1/datasets/", {"title": " "}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert invalid.status_code == 400 and invalid.json()["message"].startswith("输入无效。")


def test_status_words_and_flash_messages_are_chinese_on_a_chinese_page(provider, django_capture_on_commit_callbacks):
    make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks), title="Tables")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username=provider.username, password=PASSWORD)
    listings = client.get("/listings/").content.decode()
    assert "已上架" in listings and ">Published<" not in listings
    response = client.post(
        f"/datasets/{provider.memberships.get().organization.datasets.get().pk}/upload/", follow=True
    )
    assert "请选择要上传的文件。" in response.content.decode()


def test_no_error_a_reader_sees_is_raised_with_an_untranslated_message():
    """A literal or f-string handed to ApplicationError (or to an API's NotFound, PermissionDenied or
    ValidationError) would reach a Chinese reader in English: every such message passes through gettext. A message
    built elsewhere (e.g. by a validator) is passed as a name and not checked."""
    import ast

    RAISED = {"ApplicationError", "NotFound", "PermissionDenied", "ValidationError"}

    def _called(node):
        return getattr(node.func, "id", None) or getattr(node.func, "attr", None)

    root = Path(__file__).resolve().parents[3]
    offenders = []
    for path in [*root.glob("marketplace/**/*.py"), *root.glob("training/**/*.py"), *root.glob("synthesis/**/*.py")]:
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _called(node) in RAISED and node.args:
                if isinstance(node.args[0], ast.JoinedStr | ast.Constant):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
