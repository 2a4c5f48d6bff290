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


def plot_of(page, selector):
    """The plot of an SVG as the page wrote it: (domain, range, y scale)."""
    g = page.locator(f"{selector} g.plot")
    domain = [float(v) for v in g.get_attribute("data-domain").split(",")]
    extent = [float(v) for v in g.get_attribute("data-range").split(",")]
    return domain, extent, g.get_attribute("data-yscale")


def drawn(page, selector, key, group=None):
    """The points of the polyline `key` in `selector`, mapped back from
    pixels to data by the plot's own axes; and whether each pixel is inside
    the plot's rectangle."""
    import numpy as np

    (x0, x1, y0, y1), (left, right, top, bottom), yscale = plot_of(page, selector)
    line = page.locator(f'{selector} polyline[data-key="{key}"]' + (f'[data-group="{group}"]' if group else ""))
    assert line.count() == 1, f"{selector}: {line.count()} polylines for {key}"
    text = line.first.get_attribute("points").strip()
    pixels = np.array([[float(v) for v in p.split(",")] for p in text.split()]) if text else np.zeros((0, 2))
    within = bool(np.all((pixels[:, 0] >= left - 0.01) & (pixels[:, 0] <= right + 0.01)
                         & (pixels[:, 1] >= top - 0.01) & (pixels[:, 1] <= bottom + 0.01)))
    x = x0 + (pixels[:, 0] - left) / (right - left) * (x1 - x0)
    fraction = (bottom - pixels[:, 1]) / (bottom - top)
    if yscale == "log":
        y = 10 ** (np.log10(y0) + fraction * (np.log10(y1) - np.log10(y0)))
    else:
        y = y0 + fraction * (y1 - y0)
    return np.column_stack([x, y]), within, (x1 - x0, (y1 - y0) if yscale != "log" else None)


def assert_drawn(page, selector, key, expected, group=None):
    """The polyline `key` is `expected` (data units) up to the pixel
    rounding of the page (points written to 0.01 px), and inside the plot."""
    import numpy as np

    points, within, (width, height) = drawn(page, selector, key, group)
    assert within, f"{key}: drawn outside the plot"
    expected = np.asarray(expected, dtype=float)[: len(points)]
    assert len(points) == len(expected)
    (_, _, y0, y1), (left, right, top, bottom), yscale = plot_of(page, selector)
    np.testing.assert_allclose(points[:, 0], expected[:, 0], atol=0.006 * width / (right - left), err_msg=key)
    if yscale == "log":  # the same pixel rounding, in decades
        decades = (np.log10(y1) - np.log10(y0)) / (bottom - top)
        np.testing.assert_allclose(np.log10(points[:, 1]), np.log10(expected[:, 1]), atol=0.006 * decades, err_msg=key)
    else:
        np.testing.assert_allclose(points[:, 1], expected[:, 1], atol=0.006 * height / (bottom - top), err_msg=key)
    return points


def expected_path_key(page, prefix, settings):
    """The data's key for the settings the controls show (written here from
    the generator's naming, not read from the page's script)."""
    name = page.input_value(f"#{prefix}-optimizer")
    parts = [name, page.input_value(f"#{prefix}-alpha")]
    for k in settings[name]:
        value = (("1" if page.is_checked(f"#{prefix}-{k}") else "0") if k == "bias_correction"
                 else page.input_value(f"#{prefix}-{k}"))
        parts.append(f"{k}={value}")
    return "|".join(parts)


def check_path(page, data, prefix):
    """The path and loss curves the controls of `prefix` select, against the data."""
    import numpy as np

    surface = page.input_value("#paths-surface")
    key = expected_path_key(page, prefix, data["settings"])
    path = data["paths"][surface][key]
    x0, x1, y0, y1 = data["surfaces"][surface]["box"]
    xy = np.array(path["xy"])
    inside = np.cumprod((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)).sum()
    points = assert_drawn(page, "#paths-plot", f"{surface}|{key}", xy, prefix)
    assert len(points) == inside, (key, len(points), inside)  # drawn up to where it leaves the plot
    loss = np.column_stack([np.arange(len(path["loss"])), path["loss"]])
    assert_drawn(page, "#loss-plot", f"{surface}|{key}", loss, prefix)
    return points


def test_the_explorer_draws_the_data_of_every_control_setting(server, browser):
    """Every control of the Explorer moved through its values: the drawing
    is the data of that setting (mapped back from pixels), inside its plot;
    the course's lessons hold on the page's own data; each control has a
    label and is reached by the keyboard; nothing errors in the console.
    The data (computed by docs/explorer_data.py) is under 1 MB."""
    import numpy as np

    assert (SITE / "explorer" / "data.js").stat().st_size < 1_000_000
    page, problems = visit(browser, f"{server}/explorer.html")
    try:
        data = page.evaluate("window.EXPLORER_DATA")
        averages = data["averages"]
        # Averages: every β, with and without bias correction.
        series = np.column_stack([np.arange(1, len(averages["series"]) + 1), averages["series"]])
        for beta in [page.locator("#ewma-beta option").nth(i).get_attribute("value")
                     for i in range(page.locator("#ewma-beta option").count())]:
            page.select_option("#ewma-beta", beta)
            for on in (True, False):
                page.set_checked("#ewma-correction", on)
                kind = "corrected" if on else "uncorrected"
                values = averages[kind][beta]
                points = assert_drawn(page, "#ewma-plot", f"{kind}|{beta}",
                                      np.column_stack([np.arange(1, len(values) + 1), values]))
                assert_drawn(page, "#ewma-plot", "series", series)
                reading = page.inner_text("#ewma-reading")
                assert f"β = {beta}" in reading and f"{1 / (1 - float(beta)):.0f} days" in reading
                if on:  # the corrected average starts at the data's level; the uncorrected far below it
                    first, _, _ = drawn(page, "#ewma-plot", f"uncorrected|{beta}")
                    assert abs(points[0, 1] - series[0, 1]) < 0.3 < abs(first[0, 1] - series[0, 1])
        assert {0.5, 0.9, 0.98} <= set(averages["betas"])

        # Paths: every surface, optimizer, α and setting of the red controls.
        settings = data["settings"]
        for surface in data["surfaces"]:
            page.select_option("#paths-surface", surface)
            for name in settings:
                page.select_option("#a-optimizer", name)
                for alpha in data["alphas"]:
                    page.select_option("#a-alpha", f"{alpha:g}")
                    check_path(page, data, "a")
                for k, values in settings[name].items():
                    for value in values:
                        if k == "bias_correction":
                            page.set_checked("#a-bias_correction", bool(value))
                        else:
                            page.select_option(f"#a-{k}", f"{value:g}")
                        check_path(page, data, "a")
        # The blue controls: "none" draws one path; each optimizer and α draws its own.
        page.select_option("#paths-surface", "valley")
        page.select_option("#b-optimizer", "none")
        assert page.locator('#paths-plot polyline[data-role="path"]').count() == 1
        for name in settings:
            page.select_option("#b-optimizer", name)
            for alpha in data["alphas"][::3]:
                page.select_option("#b-alpha", f"{alpha:g}")
                check_path(page, data, "b")
            for k, values in settings[name].items():
                if k == "bias_correction":
                    page.set_checked("#b-bias_correction", True)
                else:
                    page.select_option(f"#b-{k}", f"{values[0]:g}")
                check_path(page, data, "b")

        # The course's lesson, on the page's own drawing: at the same α, momentum
        # travels far less across the valley than gradient descent.
        page.select_option("#a-optimizer", "GradientDescent")
        page.select_option("#a-alpha", "0.5")
        page.select_option("#b-optimizer", "Momentum")
        page.select_option("#b-alpha", "0.5")
        page.select_option("#b-beta", "0.9")
        page.set_checked("#b-bias_correction", False)
        gd, momentum = check_path(page, data, "a"), check_path(page, data, "b")
        travel = lambda points: float(np.abs(np.diff(points[:, 1])).sum())  # noqa: E731
        assert travel(momentum) < travel(gd) / 10
        grid = page.inner_text("#paths-grid")
        assert all(f"{a:g}" in grid for a in data["alphas"]) and f"{data['steps']} steps" in grid

        # Labels and the keyboard.
        unlabelled = page.evaluate("""Array.from(document.querySelectorAll('.explorer select, .explorer input'))
            .filter(c => !c.labels.length || !c.labels[0].textContent.trim()).map(c => c.id)""")
        assert not unlabelled, unlabelled
        visible = page.evaluate("""Array.from(document.querySelectorAll('.explorer select, .explorer input'))
            .filter(c => c.offsetParent !== null).map(c => c.id)""")
        page.focus("#ewma-beta")
        reached = {page.evaluate("document.activeElement.id")}
        for _ in range(60):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.id"))
        assert set(visible) <= reached, set(visible) - reached
        assert not problems, problems
    finally:
        page.close()


def test_the_verification_page_lists_the_suites_equivalences(server, browser):
    """Rendered from the suite's own table at build time: every claim, with its control."""
    from keras_optims.verification.equivalences import EQUIVALENCES

    page, problems = visit(browser, f"{server}/verification.html")
    try:
        rows = page.locator("table tr").all_inner_texts()
        for equivalence in EQUIVALENCES:
            assert any(equivalence.claim in row and equivalence.control in row for row in rows), equivalence.claim
        assert not problems, problems
    finally:
        page.close()
