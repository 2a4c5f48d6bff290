"""The built documentation site in a real browser: Debian's chromium, driven
by Playwright, over a local HTTP server on 127.0.0.1.

`make test-site` builds the site (`make docs`) and runs this module with
KERAS_OPTIMS_SITE_TEST=1; anything missing then fails. Elsewhere (`make
test`) the module is skipped: the site is not built there.

Every page loads without a console error, a page error or a failed request;
every image loads; the math of the pages that have math is typeset by KaTeX
without an error; the tutorials show their outputs; search finds "epsilon".
Nothing is fetched from outside 127.0.0.1 (requests elsewhere are blocked
and would be reported as failed).
"""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

if os.environ.get("KERAS_OPTIMS_SITE_TEST") != "1":
    pytest.skip("make test-site runs the browser check on the built site", allow_module_level=True)

SITE = Path(__file__).resolve().parents[1] / "site"
CHROMIUM = os.environ.get("KERAS_OPTIMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html") if p.name != "404.html")
MATH_PAGES = {"rules.html", "comparison.html", "tutorials/ewma.html", "tutorials/valley.html",
              "tutorials/epsilon.html", "tutorials/decay.html"}


@pytest.fixture(scope="module")
def server():
    assert (SITE / "index.html").is_file(), f"no site in {SITE}: run `make docs`"
    handler = functools.partial(QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), f"no chromium at {CHROMIUM} (.ci/run installs Debian's)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def visit(browser, url):
    """Opens `url`; returns the page and what went wrong while it loaded."""
    page = browser.new_page()
    problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})"))
    page.route(lambda u: not u.startswith(url.split("/", 3)[0] + "//" + url.split("/", 3)[2]),
               lambda route: route.abort())
    page.goto(url, wait_until="networkidle")
    return page, problems


def test_the_site_has_every_page():
    assert {"index.html", "api/optimizers.html", "tutorials/course_assignment.html", "changelog.html"} <= set(PAGES)
    assert len(PAGES) >= 30


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly_with_its_images_and_math(server, browser, path):
    page, problems = visit(browser, f"{server}/{path}")
    try:
        assert not problems, problems
        broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                               ".map(i => i.src)")
        assert not broken, broken
        assert not page.query_selector(".katex-error"), "KaTeX could not typeset some math"
        if path in MATH_PAGES:
            assert page.locator(".katex").count() > 0, "the math was not typeset"
            assert page.locator(".katex").first.bounding_box()["width"] > 0
        if path.startswith("tutorials/") and path != "tutorials/index.html":
            assert page.locator("text=Runs as you read it").count() == 1
            assert page.locator("pre").count() > 3
        assert "{{" not in page.content(), "an unfilled template field"
    finally:
        page.close()


def test_search_finds_epsilon(server, browser):
    page, problems = visit(browser, f"{server}/index.html")
    try:
        page.keyboard.press("/")  # Material's shortcut to the search box
        page.keyboard.type("epsilon", delay=50)
        page.wait_for_selector(".md-search-result__item", timeout=30000)
        results = page.locator(".md-search-result__item").count()
        assert results > 0
        assert not problems, problems
    finally:
        page.close()


def test_the_api_reference_renders_the_rule_blocks_and_symbol_tables(server, browser):
    page, problems = visit(browser, f"{server}/api/optimizers.html")
    try:
        text = page.inner_text("article")
        assert "W ← W − α·v̂ / (√ŝ + ε)" in text
        assert page.locator("article table").count() == 4  # a symbol table per optimizer
        assert text.count("learning_rate") >= 4  # its arguments, each described
        assert "Differences from keras.optimizers.Adam" in text
        assert not problems, problems
    finally:
        page.close()
