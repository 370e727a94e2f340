"""The built site in a real browser: Debian's Chromium, headless, driven by Playwright,
against the site served on 127.0.0.1. Chromium must be installed (`make test` installs
it); these tests fail, never skip, without it."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from testing.site import build_site, make_site_project, write_mkdocs

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The mkdocs theme's own script needs the search plugin's modal; highlight.js would come
# from a CDN, which a hermetic test cannot reach.
THEME = "theme:\n  name: mkdocs\n  highlightjs: false\n"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    url: str
    root: Path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The fixture tutorial's site, built and served over HTTP from a thread."""
    root = make_site_project(tmp_path)
    write_mkdocs(root, extra=THEME)
    (root / "mkdocs.yml").write_text(
        (root / "mkdocs.yml").read_text().replace("plugins:\n", "plugins:\n  - search\n"))
    built = build_site(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(built.site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", built.site)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def require_chromium(path: Path) -> None:
    """Fail (never skip) when the browser is missing, saying how to install it."""
    if shutil.which(str(path)) is None:
        pytest.fail(f"{path} is missing: the browser tests need Debian's Chromium. "
                    "Install it with `apt-get update && apt-get install -y chromium` "
                    "(`make test` does so when it is missing).")


@pytest.fixture
def page(site: Site) -> Iterator[Any]:
    """A Chromium page that records console errors and uncaught exceptions."""
    require_chromium(CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: install the dev extra (`pip install -e '.[dev]'`).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            tab = context.new_page()
            tab.set_default_timeout(10_000)
            tab.errors = []
            tab.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))
            tab.on("pageerror", lambda e: tab.errors.append(str(e)))
            yield tab
        finally:
            browser.close()


def test_a_step_page_loads_with_its_diff_and_no_errors(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/steps/1b/")
    assert page.title() == "Step 1b: The app - Demo"
    assert page.locator("html.tt-js").count() == 1  # the renderer's script ran
    assert page.locator(".tt-diff.tt-view-unified").is_visible()
    assert page.locator(".tt-dfile").count() == 2
    assert "git checkout 1b" in page.locator("pre code").first.inner_text()
    assert page.errors == []


def test_the_split_view_is_remembered_across_reloads_and_pages(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/steps/1b/")
    page.locator('.tt-diff button[data-tt-view="split"]').click()
    assert page.locator(".tt-diff.tt-view-split").count() == 1
    assert page.locator("table.tt-split").first.is_visible()
    assert not page.locator("table.tt-unified").first.is_visible()
    page.reload()
    assert page.locator(".tt-diff.tt-view-split").count() == 1
    page.goto(f"{site.url}/01-the-app/")  # a chapter page with two diffs
    assert page.locator(".tt-diff.tt-view-split").count() == 2
    page.locator('.tt-diff button[data-tt-view="unified"]').first.click()
    assert page.locator(".tt-diff.tt-view-split").count() == 0
    page.goto(f"{site.url}/steps/1b/")
    assert page.locator(".tt-diff.tt-view-unified").count() == 1
    assert page.errors == []


def test_a_line_anchor_scrolls_to_and_highlights_its_line(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/steps/1b/#d-0-L3")
    row = page.locator("tr.tt-target")
    assert row.count() == 1
    assert row.locator('a[id="d-0-L3"]').count() == 1
    assert row.is_visible() and row.bounding_box()["y"] >= 0
    assert page.evaluate("document.querySelector(':target').id") == "d-0-L3"
    # Following another line's number moves the highlight there.
    page.locator('a[href="#d-0-L5"]').first.click()
    assert page.url.endswith("#d-0-L5")
    assert page.locator("tr.tt-target a").first.get_attribute("id") == "d-0-L5"
    assert page.errors == []


def test_previous_and_next_links_walk_the_steps(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/steps/1b/")
    page.locator("a.tt-next").click()
    page.wait_for_url(f"{site.url}/steps/2a/")
    assert page.locator("h1").inner_text() == "Step 2a: More"
    page.locator("a.tt-prev").click()
    page.wait_for_url(f"{site.url}/steps/1b/")
    page.locator("a.tt-chapter-link").click()
    page.wait_for_url(f"{site.url}/01-the-app/")
    assert page.locator("h1").first.inner_text() == "Chapter 1: The app"
    page.locator('[role="main"] a[href="../steps/1a/"]').click()
    page.wait_for_url(f"{site.url}/steps/1a/")
    assert page.locator("a.tt-prev").count() == 0
    assert page.errors == []


def test_without_chromium_the_browser_tests_fail_and_say_how_to_install_it(
        tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        require_chromium(tmp_path / "chromium")
    require_chromium(CHROMIUM)  # and here it is installed
