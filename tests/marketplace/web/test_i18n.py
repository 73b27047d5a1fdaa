"""The interface in Simplified Chinese: chosen by Accept-Language or by the switcher, with amounts in the reader's
format, and a catalogue of translations that is complete and compiled."""

from pathlib import Path

import numpy as np
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


def test_messages_the_engines_write_in_english_are_shown_in_chinese():
    from django.utils import translation

    from marketplace.web.engine_words import MESSAGES, translate

    with translation.override("zh-hans"):
        assert translate("Scrubbing personal data (chunk 2 of 5)") == "正在脱敏个人信息（第 2 块，共 5 块）"
        # A variable part that is itself an engine message is translated too.
        nested = translate("header 'pan' suggests CREDIT_CARD, but the values are small numbers")
        assert nested == "列名 'pan' 提示为 CREDIT_CARD，但值是较小的数字"
        # The longer message wins over the shorter one that would swallow its tail.
        assert translate("12 synthetic rows with cart (3 copies of real records removed)").startswith("用 cart 生成 12")
        assert translate("Something no entry knows") == "Something no entry knows"
        verdict = translate(
            "The synthetic rows did not help: real rows alone trained for as many optimiser steps did as well or "
            "better (accuracy -0.05). Train without the synthetic versions."
        )
        assert verdict == (
            "合成数据没有帮助：以相同优化步数仅用真实数据训练同样好或更好（accuracy -0.05）。请不使用合成版本进行训练。"
        )
    with translation.override("en"):
        assert translate("Scrubbing personal data (chunk 2 of 5)") == "Scrubbing personal data (chunk 2 of 5)"
    translated = {entry.msgid for entry in polib.pofile(str(LOCALE / "django.po")) if entry.msgstr}
    assert {msgid for _, msgid in MESSAGES} <= translated


def test_every_reason_the_pii_engine_gives_on_a_mixed_table_is_in_the_catalogue():
    """Reasons come from the Django-free classifier: a reason it learns to give without a catalogue entry would reach
    a Chinese reader in English. The table exercises the validators, header hints, contradicted hints, code columns,
    Chinese names and addresses, free text and safe columns."""
    import pandas as pd
    from django.utils import translation

    from marketplace.pii import scrub
    from marketplace.web.engine_words import translate

    rows = 40
    frame = pd.DataFrame(
        {
            "email": [f"user{i}@example.com" for i in range(rows)],
            "telefon": [f"+49 30 {9018200 + i}" for i in range(rows)],
            "pan": [4 + i % 7 for i in range(rows)],
            "ref": [f"QX{i:03d}-{(i * 7919) % 100000:05d}" for i in range(rows)],
            "姓名": [["张伟", "王芳", "李娜", "刘洋", "陈静"][i % 5] + "明丽华强军"[i % 5] for i in range(rows)],
            "住址": [f"北京市朝阳区建国路{i + 1}号{i % 9 + 1}0{i % 4 + 1}室" for i in range(rows)],
            "notes": [f"Customer {i} asked about the invoice on Monday." for i in range(rows)],
            "plan": [["gold", "silver", "bronze"][i % 3] for i in range(rows)],
        }
    )
    _, report = scrub(frame)
    reasons = [column["reason"] for column in report.to_dict()["columns"]]
    with translation.override("zh-hans"):
        untranslated = [reason for reason in reasons if translate(reason) == reason]
    assert untranslated == [], untranslated


def test_a_version_page_in_chinese_shows_the_pii_reasons_in_chinese(provider, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username=provider.username, password=PASSWORD)
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert "未检测到个人信息" in page and "100% 的抽样值通过校验" in page
    assert "no personal data detected" not in page and "of sampled values validate" not in page


def test_chart_scripts_take_their_words_from_the_page_so_they_follow_the_language(provider):
    """The chart scripts are static files: their legend and axis words come from data attributes the template
    translates, and the scripts themselves hold no English label."""
    root = Path(__file__).resolve().parents[3] / "marketplace" / "static" / "marketplace" / "js"
    scripts = "".join(path.read_text() for path in root.glob("*.js"))
    for english in ["Revenue per day", "real (holdout)", '"synthetic"', "training loss", '" loss"', 'text: "step"']:
        assert english not in scripts, english
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username=provider.username, password=PASSWORD)
    assert 'data-word-revenue="每日收入"' in client.get("/sales/").content.decode()


def test_the_verdicts_and_warnings_the_engines_write_today_are_in_the_catalogue():
    """Written by the real engine code, so a change of wording there without a catalogue entry fails here."""
    from django.utils import translation

    from marketplace.web.engine_words import translate
    from synthesis.tabular import _choose, _closeness_warning

    def _candidate(method, quality, dcr_share, tstr_ratio=None):
        return {"method": method, "quality": quality, "dcr_share": dcr_share, "tstr_ratio": tstr_ratio}

    from training.evaluation import compare_to_baseline

    written = [
        compare_to_baseline({"accuracy": 0.8}, {"accuracy": 0.7}, headline="accuracy")["verdict"],
        compare_to_baseline({"accuracy": 0.7}, {"accuracy": 0.8}, headline="accuracy", steps={"a": 1})["verdict"],
        _closeness_warning("cart", 0.571, 0.55),
        # auto's reasons: a winner with a runner-up (with and without TSTR), one passed over, none private enough.
        _choose([_candidate("cart", 0.91, 0.5, 0.97), _candidate("tvae", 0.8, 0.49, 0.9)], 0.55)[1],
        _choose([_candidate("cart", 0.91, 0.5), _candidate("tvae", 0.8, 0.49), _candidate("ctgan", 0.99, 0.7)], 0.55)[
            1
        ],
        _choose([_candidate("cart", 0.91, 0.6)], 0.55)[1],
        # a TSTR lead within the holdout's noise, with one candidate passed over as too close
        _choose(
            [_candidate("cart", 0.91, 0.5, 0.8), _candidate("tvae", 0.8, 0.49, 1.0), _candidate("ctgan", 0.99, 0.7)],
            0.55,
            {"cart": np.array([0.8, 0.9, 0.7]), "tvae": np.array([1.0, 0.8, 0.7])},
        )[1],
    ]
    with translation.override("zh-hans"):
        assert [message for message in written if translate(message) == message] == []


def test_a_revocation_notification_reads_in_chinese(provider, buyer, django_capture_on_commit_callbacks):
    from marketplace.services.licensing import license_revoke, listing_purchase
    from tests.conftest import org_of

    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks), title="Tables")
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="zh")
    license_revoke(license=license, reason="consent withdrawn", operator=provider, organization=org_of(provider))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username=buyer.username, password=PASSWORD)
    page = client.get("/licenses/").content.decode()
    assert "您对“Tables”的许可" in page and "已被撤销：consent withdrawn" in page and "was revoked" not in page


def test_the_mix_selection_reasons_translate_whole_not_by_a_shorter_pattern_they_contain():
    """Written by `training.mixing._selection`: each of its reasons contains " scored ", which a short entry
    ("{method} scored {quality}") also matches; the whole reason must be translated, with no English left."""
    from django.utils import translation

    from marketplace.web.engine_words import translate
    from training.mixing import MIX_SCALES, MixOutcome, _selection
    from training.trainer import TrainResult

    def result(accuracy, rows):
        validation = {"rows": len(rows), "best_step": 4, "best": {"accuracy": accuracy, "loss": sum(rows) / len(rows)}}
        return TrainResult(
            labels=["a", "b"], steps=8, metrics={}, tokens_per_s=1.0, validation={**validation, "best_row_losses": rows}
        )

    real = [0.5, 0.7, 0.4, 0.6, 0.5, 0.8, 0.4, 0.6]
    better = [x - 0.1 for x in real]
    reasons = []
    for chosen, rows in ((1.0, better), (0.0, real)):
        results = {"augmented": result(0.75, rows), "mix-0.5": result(0.75, real), "mix-0.25": result(0.75, real)}
        results["baseline"] = result(0.75, real)
        outcome = MixOutcome(results, MIX_SCALES, chosen, True, 1, 96)
        reasons.append(_selection(outcome)["reason"])
    with translation.override("zh-hans"):
        translated = [translate(reason) for reason in reasons]
    assert all(
        reason != words and "scored" not in words and "rows" not in words
        for reason, words in zip(reasons, translated, strict=True)
    )


def test_the_failures_engines_write_into_jobs_and_versions_are_shown_in_chinese(
    provider, django_capture_on_commit_callbacks
):
    """Raised by the real engine code; a change of wording there without a catalogue entry fails here. The version
    page shows a failed upload's reason in the reader's language."""
    import io

    import pandas as pd
    from django.utils import translation

    from marketplace.dataio import iter_chunks
    from marketplace.job_errors import JobInputError
    from marketplace.web.engine_words import translate
    from synthesis.tabular import TabularConfig, synthesize_table

    def raised(call) -> str:
        try:
            call()
        except JobInputError as exc:
            return str(exc)
        raise AssertionError("no error raised")

    def read(content: bytes, fmt: str):
        return lambda: list(iter_chunks(io.BytesIO(content), fmt, 100))

    written = [
        raised(read(b"a,a\n1,2\n", "csv")),
        raised(read(b"", "csv")),
        raised(read(b"a,b\n", "csv")),
        raised(read(b"a,b\n1,2\n3,4,5\n6,7\n", "csv")),
        raised(read(b'{"a": 1}\n[1]\n', "jsonl")),
        raised(read(b"not parquet", "parquet")),
        raised(read(b"not a workbook", "xlsx")),
        raised(read(b"", "xlsx")),
        raised(read(b'[{"a": 1}, 2]', "json")),
        raised(read(b'{\n "a": [1],\n "b": [2]\n}', "json")),
        raised(read(b"[]", "json")),
        raised(lambda: synthesize_table(pd.DataFrame({"a": range(5)}), TabularConfig(method="cart", rows=5))),
    ]
    with translation.override("zh-hans"):
        untranslated = [message for message in written if translate(message) == message]
    assert untranslated == []

    from marketplace.services.datasets import dataset_create, version_upload
    from tests.conftest import org_of, upload_file

    dataset = dataset_create(organization=org_of(provider), user=provider, title="Broken")
    with django_capture_on_commit_callbacks(execute=True):
        version = version_upload(dataset=dataset, user=provider, upload=upload_file("a,a\n1,2\n"))
    version.refresh_from_db()
    assert version.status == "failed" and "appears twice" in version.error
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username=provider.username, password=PASSWORD)
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert "在表头中出现了两次" in page and "appears twice" not in page


def test_the_api_gives_a_failed_jobs_error_in_the_clients_language(
    provider, api_for, django_capture_on_commit_callbacks
):
    """A worker writes job failures in English (it has no reader); the API answers them in the language the client
    asks for, and in English exactly as written."""
    from marketplace.services.datasets import dataset_create, version_upload
    from tests.conftest import org_of, upload_file

    dataset = dataset_create(organization=org_of(provider), user=provider, title="Broken")
    with django_capture_on_commit_callbacks(execute=True):
        version = version_upload(dataset=dataset, user=provider, upload=upload_file("a,a\n1,2\n"))
    version.refresh_from_db()
    api = api_for(provider)
    for url in (f"/api/v1/versions/{version.pk}/", f"/api/v1/jobs/{version.job_id}/"):
        english = api.get(url).json()
        chinese = api.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
        assert english["error"] == version.error and "appears twice" in english["error"]
        assert "在表头中出现了两次" in chinese["error"] and "appears twice" not in chinese["error"]
    listed = api.get("/api/v1/jobs/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert any("在表头中出现了两次" in row["error"] for row in rows)


def test_the_model_card_follows_the_readers_language(provider, buyer, django_capture_on_commit_callbacks):
    from marketplace.services.licensing import listing_purchase
    from tests.conftest import api_client_for, org_of
    from tests.training.test_services import PARAMS, REVIEWS, _train

    reviews = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=make_listing(provider, reviews), idempotency_key="c")
    training = _train(buyer, [reviews], django_capture_on_commit_callbacks, PARAMS)
    path = f"/api/v1/models/{training.model.pk}/"

    english = api_client_for(buyer).get(path).data["card_markdown"]
    chinese = api_client_for(buyer).get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").data["card_markdown"]
    assert "## Lineage" in english and "## Inherited terms" in english and "## Training receipt" in english
    for heading in ("## 指标", "## 数据血缘", "## 来源许可", "## 训练凭证", "## 继承的条款"):
        assert heading in chinese
    assert "## Lineage" not in chinese and "allowed" not in chinese and "licence" not in chinese
    # The inherited terms are the listing's sentences, not field names ("commercial use: not allowed").
    assert "- You may train models on it" in english and "- Commercial use allowed" in english
    assert "model training" not in chinese and "commercial use" not in chinese and "commercial_use" not in english
    # The figures and hashes are the same in both.
    assert reviews.sha256 in chinese and str(training.model.pk) in chinese
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username=buyer.username, password=PASSWORD)
    assert "## 数据血缘" in client.get(f"/training/models/{training.model.pk}/").content.decode()


def test_an_entitlement_refusal_answers_in_the_clients_language(provider, buyer, django_capture_on_commit_callbacks):
    from marketplace.services.licensing import listing_purchase
    from tests.conftest import api_client_for, org_of

    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    terms = {"download": False, "synthetic_derivatives": True, "model_training": True, "commercial_use": True}
    license, _ = listing_purchase(
        buyer=org_of(buyer), user=buyer, listing=make_listing(provider, version, terms=terms), idempotency_key="zh"
    )
    path = f"/api/v1/versions/{version.pk}/download/?format=csv"
    english = api_client_for(buyer).get(path)
    chinese = api_client_for(buyer).get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.status_code == chinese.status_code == 403
    assert (
        english.data["message"]
        == f"Your licence ({license.pk}) does not allow downloading the data (it is compute-only)."
    )
    assert chinese.data["message"] == f"您的许可（{license.pk}）不允许下载数据（仅限平台内计算）。"


def test_pii_kinds_actions_and_base_model_descriptions_read_in_chinese():
    """Words a page shows straight from the engines: the PII report's column kinds and actions, and the base models'
    descriptions on the training form (found walking the zh-Hans pages, where they were English)."""
    from django.utils import translation

    from marketplace.pii.classify import DIRECT, FREE_TEXT, QUASI, SAFE
    from marketplace.pii.policy import ACTIONS
    from marketplace.web.engine_words import translate
    from training.registry import BASE_MODELS

    words = [DIRECT, QUASI, FREE_TEXT, SAFE, "none (scan only)", *ACTIONS]
    words += [spec.description for spec in BASE_MODELS.values()]
    with translation.override("zh-hans"):
        assert [word for word in words if translate(word) == word] == []
    with translation.override("en"):
        assert translate("keep") == "keep" and translate(DIRECT) == "direct identifier"
