"""Drive the web UI in a real headless Chromium: sign up, upload, watch the progress bar, read the scrubbed preview."""

import os

import pytest

from tests.conftest import CUSTOMERS_CSV

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test body are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert os.path.exists(CHROMIUM), "Debian's chromium package is required (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        # What the browser refused under the Content-Security-Policy: an inline script that would no longer run.
        page.csp_violations = []
        page.on(
            "console",
            lambda message: "Content Security Policy" in message.text and page.csp_violations.append(message.text),
        )
        yield page
        context.close()
        browser.close()


def test_provider_signs_up_uploads_and_sees_a_scrubbed_preview(page, live_server, celery_worker_process, tmp_path):
    csv_path = tmp_path / "customers.csv"
    csv_path.write_text(CUSTOMERS_CSV)

    page.goto(f"{live_server.url}/signup/")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=email]", "erin@example.com")
    page.fill("input[name=organization]", "Erin Analytics")
    page.fill("input[name=password]", "a-long-passphrase")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/dashboard/")

    page.click("text=Upload a dataset")
    page.fill("input[name=title]", "Support customers")
    page.set_input_files("input[name=file]", str(csv_path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/versions/*/")
    assert page.locator("#ingest-progress").count() == 1

    page.wait_for_selector("#preview", timeout=180_000)
    assert page.inner_text("#version-status-badge") == "Ready"
    assert page.get_attribute("#ingest-progress", "value") == "1"
    preview = page.inner_text("#preview")
    for secret in ["Alice Johnson", "Bruno Keller", "Chiara Rossi", "alice.johnson@example.com", "dmitri@example.org"]:
        assert secret not in preview
    assert "gold" in preview and "silver" in preview
    assert "email" in page.inner_text("#pii-report")
    page.screenshot(path=str(tmp_path / "version.png"), full_page=True)

    # The pages' own scripts run under the policy: the API docs render, and nothing was refused on the way.
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
    assert page.csp_violations == []


def test_the_navigation_fits_at_1024_px_and_folds_behind_a_menu_below(page, live_server, transactional_db):
    from tests.conftest import PASSWORD, _persona

    _persona("navigator", "A Rather Long Organisation Name Ltd")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "navigator")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/dashboard/")

    for width in (1024, 1280, 1440):
        page.set_viewport_size({"width": width, "height": 800})
        links = page.locator("#site-nav a")
        boxes = [links.nth(i).bounding_box() for i in range(links.count())]
        assert len({round(box["y"]) for box in boxes}) == 1, f"the links wrap onto several rows at {width} px"
        assert max(box["height"] for box in boxes) < 1.5 * min(box["height"] for box in boxes)  # no link on 2 lines
        assert page.locator("header.top .wrap").bounding_box()["height"] < 60
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off the page
        assert not page.is_visible("label.nav-button")

    page.set_viewport_size({"width": 800, "height": 800})
    assert page.is_visible("label.nav-button") and not page.is_visible("#site-nav a >> nth=0")
    page.click("label.nav-button")
    assert page.is_visible("text=Training") and page.is_visible("text=API tokens")
    assert page.csp_violations == []


def test_a_visitor_switches_the_interface_to_simplified_chinese(page, live_server, transactional_db):
    page.goto(f"{live_server.url}/")
    assert page.inner_text("h1") == "Data you can license, scrubbed before anyone sees it"
    page.select_option("#language-form select[name=language]", "zh-hans")
    page.click("#language-form button[type=submit]")
    page.wait_for_selector("text=可授权使用的数据")
    assert page.get_attribute("html", "lang") == "zh-hans"
    page.click("#site-nav >> text=数据目录")
    page.wait_for_url("**/catalog/")
    assert page.inner_text("h1") == "数据目录" and page.csp_violations == []


def _english_the_catalogue_translates() -> list[str]:
    """Sentences and phrases of our own interface that have a Chinese translation (two words or more, no
    placeholders): any of them on a zh-Hans page is a string that missed the translation on its way to the page."""
    from pathlib import Path

    import polib

    po = polib.pofile(str(Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    return sorted(
        entry.msgid
        for entry in po
        if entry.msgstr
        and entry.msgstr != entry.msgid
        and not entry.msgid_plural
        and "%" not in entry.msgid
        and "{" not in entry.msgid
        and len(entry.msgid.split()) >= 2
        and len(entry.msgid) >= 10
    )


def _crawl(page, base: str, start: str, limit: int = 60) -> dict[str, str]:
    """The text of every page of the site reachable from `start` by links (no downloads, API, admin or logout)."""
    skip = ("/logout/", "/i18n/", "/api/", "/admin/", "/static/", "/media/", "download", "croissant", "contract")
    seen: dict[str, str] = {}
    queue = [(start, "")]
    while queue and len(seen) < limit:
        path, linked_from = queue.pop(0)
        if path in seen:
            continue
        response = page.goto(base + path)
        assert response is not None and response.status == 200, (path, linked_from, response and response.status)
        seen[path] = page.inner_text("body")
        assert page.get_attribute("html", "lang") == "zh-hans", path
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            href = href.split("#")[0]
            if href.startswith("/") and not any(part in href for part in skip) and href not in seen:
                queue.append((href, path))
    return seen


def test_every_page_a_provider_and_a_buyer_reach_reads_in_chinese(
    page, live_server, transactional_db, django_capture_on_commit_callbacks
):
    """The zh-Hans interface walked in the browser: every page reachable by links, as the provider and as a buyer
    with a licence, a synthetic version and a model, shows none of the interface's English sentences that the
    catalogue translates."""
    from marketplace.services.licensing import listing_purchase
    from tests.conftest import PASSWORD, _persona, make_listing, make_ready_version, org_of
    from tests.training.test_derivative_terms import LOANS, _synthesize, _train

    capture = django_capture_on_commit_callbacks
    provider = _persona("prov", "Provider Org")
    buyer = _persona("buy", "Buyer Org")
    version = make_ready_version(provider, capture, content=LOANS, title="Loans")
    listing = make_listing(provider, version)
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="walk")
    _synthesize(buyer, version, capture)  # each asserts that its job succeeded
    _train(buyer, [version], capture)
    english = _english_the_catalogue_translates()
    assert len(english) > 300

    page.context.set_extra_http_headers({"Accept-Language": "zh-CN"})
    untranslated: dict[str, list[str]] = {}
    for user in (provider, buyer):
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/dashboard/")
        pages = _crawl(page, live_server.url, "/dashboard/")
        assert len(pages) >= 10, sorted(pages)
        for path, text in pages.items():
            if found := [sentence for sentence in english if sentence in text]:
                untranslated[f"{user.username} {path}"] = found
    assert untranslated == {}
    assert page.csp_violations == []
