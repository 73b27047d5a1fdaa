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
