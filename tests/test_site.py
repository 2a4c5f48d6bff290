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


PANELS = ("minibatch", "averages", "paths", "decay", "range_test")


def open_explorer(server, browser):
    """The Explorer page once every panel has loaded its data and drawn."""
    page, problems = visit(browser, f"{server}/explorer.html")
    page.wait_for_function(f"{list(PANELS)}.every(n => document.getElementById('explorer-' + n).dataset.ready === '1')",
                           timeout=30000)
    return page, problems, page.evaluate("window.EXPLORER_DATA")


def g(value):
    """A grid value as the data's keys write it (Python's format "g")."""
    return format(value, "g")


def slide(page, control, index, grid):
    """Moves slider `control` to position `index` of its grid; checks that
    it shows that grid value; returns the value."""
    page.fill(f"#{control}", str(index))
    value = grid[index]
    assert page.inner_text(f"#{control}-value") == g(value), (control, index)
    return value


def ends_and_middle(grid):
    return sorted({0, len(grid) // 2, len(grid) - 1})


def expected_path_key(page, data, prefix):
    """The data's key for the settings the controls show, from the slider
    positions and the data's grids (written here from the generator's
    naming, not read from the page's script)."""
    name = page.input_value(f"#{prefix}-optimizer")
    settings = data["settings"][name]
    parts = [name, g(data["alphas"][int(page.input_value(f"#{prefix}-alpha"))])]
    for k in settings:
        value = (("1" if page.is_checked(f"#{prefix}-{k}") else "0") if k == "bias_correction"
                 else g(settings[k][int(page.input_value(f"#{prefix}-{k}"))]))
        parts.append(f"{k}={value}")
    return "|".join(parts)


def step_of(page, prefix):
    return int(page.input_value(f"#{prefix}-step"))


def check_path(page, data, prefix):
    """The path and loss curves the controls of `prefix` select, against the
    data: up to the step slider's step k, the first k + 1 points."""
    import numpy as np

    surface = page.input_value("#paths-surface")
    key = expected_path_key(page, data, prefix)
    path = data["paths"][surface][key]
    k = step_of(page, "paths")
    x0, x1, y0, y1 = data["surfaces"][surface]["box"]
    xy = np.array(path["xy"])[: k + 1]
    inside = np.cumprod((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)).sum()
    points = assert_drawn(page, "#paths-plot", f"{surface}|{key}", xy, prefix)
    assert len(points) == inside, (key, len(points), inside)  # drawn up to where it leaves the plot
    loss = np.column_stack([np.arange(len(path["loss"])), path["loss"]])[: k + 1]
    assert len(assert_drawn(page, "#loss-plot", f"{surface}|{key}", loss, prefix)) == len(loss)
    return points


def assert_all_drawn(page, selector, key, expected, role):
    """Every point of `expected` is drawn (a clipped plot draws them all),
    mapped back to the data."""
    import numpy as np

    (x0, x1, y0, y1), (left, right, top, bottom), yscale = plot_of(page, selector)
    line = f'{selector} polyline[data-key="{key}"][data-role="{role}"]'
    assert page.locator(line).count() == 1, line
    pixels = np.array([[float(v) for v in p.split(",")] for p in page.get_attribute(line, "points").split()])
    expected = np.asarray(expected, dtype=float)
    assert pixels.shape == expected.shape, (key, role, pixels.shape, expected.shape)
    x = x0 + (pixels[:, 0] - left) / (right - left) * (x1 - x0)
    np.testing.assert_allclose(x, expected[:, 0], atol=0.006 * (x1 - x0) / (right - left), err_msg=key)
    fraction = (bottom - pixels[:, 1]) / (bottom - top)
    if yscale == "log":
        decades = np.log10(y1) - np.log10(y0)
        np.testing.assert_allclose(np.log10(y0) + fraction * decades, np.log10(expected[:, 1]),
                                   atol=0.006 * decades / (bottom - top), err_msg=key)
        return np.column_stack([x, 10 ** (np.log10(y0) + fraction * decades)])
    y = y0 + fraction * (y1 - y0)
    np.testing.assert_allclose(y, expected[:, 1], atol=0.006 * (y1 - y0) / (bottom - top), err_msg=key)
    return np.column_stack([x, y])


def test_the_explorers_data_is_small_and_loaded_per_panel():
    """Each panel has its own file, and all of them together are under 2 MB."""
    files = {p.stem: p.stat().st_size for p in (SITE / "explorer").glob("*.js")}
    assert set(files) == set(PANELS), files
    assert sum(files.values()) < 2_000_000, files


def test_the_minibatch_panel_draws_the_data_of_each_slider_and_the_courses_lesson(server, browser):
    """The batch-size and α sliders at each end and in the middle, under
    each optimizer: the path of (w, b), every mini-batch's cost and its
    average are the data of that setting. On the page's own data, the cost's
    step-to-step spread shrinks as the batch grows, and batch gradient
    descent at the smallest α never raises the cost."""
    import numpy as np

    page, problems, data = open_explorer(server, browser)
    try:
        data = data["minibatch"]
        sizes, alphas = data["batch_sizes"], data["alphas"]
        assert sizes[0] == 1 and sizes[-1] == data["m"] and len(sizes) >= 4

        def check():
            name = page.input_value("#mb-optimizer")
            B = sizes[int(page.input_value("#mb-batch"))]
            alpha = alphas[int(page.input_value("#mb-alpha"))]
            key = f"{name}|{g(alpha)}|{B}"
            run = data["runs"][key]
            k = step_of(page, "mb")
            assert_all_drawn(page, "#mb-path", key, run["wb"][: k + 1], "path")
            costs = assert_all_drawn(page, "#mb-cost", key, [[t + 1, c] for t, c in enumerate(run["cost"][:k])], "cost")
            assert_all_drawn(page, "#mb-cost", key, [[t + 1, c] for t, c in enumerate(run["ewma"][:k])], "ewma")
            reading = page.inner_text("#mb-reading")
            assert f"B = {B}" in reading and f"{-(-data['m'] // B)} iteration" in reading, reading
            return run, costs

        for name in data["optimizers"]:
            page.select_option("#mb-optimizer", name)
            slide(page, "mb-alpha", len(alphas) // 2, alphas)
            for i in ends_and_middle(sizes):
                slide(page, "mb-batch", i, sizes)
                check()
            for i in ends_and_middle(alphas):
                slide(page, "mb-alpha", i, alphas)
                check()

        # The lesson: the noise of the mini-batch cost shrinks as B grows.
        for name in data["optimizers"]:
            page.select_option("#mb-optimizer", name)
            slide(page, "mb-alpha", alphas.index(0.05), alphas)
            spreads = []
            for i in range(len(sizes)):
                slide(page, "mb-batch", i, sizes)
                _, costs = check()
                spreads.append(float(np.std(np.diff(costs[:, 1]))))
            assert all(a > b for a, b in zip(spreads, spreads[1:])), (name, spreads)
        # Batch gradient descent at the smallest α: the cost never rises.
        page.select_option("#mb-optimizer", "GradientDescent")
        slide(page, "mb-alpha", 0, alphas)
        slide(page, "mb-batch", len(sizes) - 1, sizes)
        run, costs = check()
        assert np.all(np.diff(run["cost"]) <= 0)
        # Drawn: each point is written to 0.01 px, so two may differ by 0.01 px the wrong
        # way, which on the log axis is that many of its decades per pixel.
        (_, _, y0, y1), (_, _, top, bottom), _ = plot_of(page, "#mb-cost")
        rounding = 0.01 * (np.log10(y1) - np.log10(y0)) / (bottom - top)
        assert np.all(np.diff(np.log10(costs[:, 1])) <= rounding)
        grid = page.inner_text("#mb-grid")
        assert all(str(b) in grid for b in sizes) and f"m = {data['m']}" in grid
        assert not problems, problems
    finally:
        page.close()


def test_the_averages_panel_draws_the_data_of_each_beta(server, browser):
    import numpy as np

    page, problems, data = open_explorer(server, browser)
    try:
        averages = data["averages"]
        betas = averages["betas"]
        series = np.column_stack([np.arange(1, len(averages["series"]) + 1), averages["series"]])
        for i in ends_and_middle(betas):
            beta = g(slide(page, "ewma-beta", i, betas))
            for on in (True, False):
                page.set_checked("#ewma-correction", on)
                kind = "corrected" if on else "uncorrected"
                values = averages[kind][beta]
                points = assert_drawn(page, "#ewma-plot", f"{kind}|{beta}",
                                      np.column_stack([np.arange(1, len(values) + 1), values]))
                assert len(points) == len(values)
                assert_drawn(page, "#ewma-plot", "series", series)
                reading = page.inner_text("#ewma-reading")
                assert f"β = {beta}" in reading and f"{1 / (1 - float(beta)):.0f} days" in reading
                if on:  # the corrected average starts at the data's level; the uncorrected far below it
                    first, _, _ = drawn(page, "#ewma-plot", f"uncorrected|{beta}")
                    assert abs(points[0, 1] - series[0, 1]) < 0.3 < abs(first[0, 1] - series[0, 1])
        assert {0.5, 0.9, 0.98} <= set(betas)
        assert not problems, problems
    finally:
        page.close()


def drawn_log_x(page, selector, key):
    """The points of polyline `key` mapped back to data on a plot whose x
    axis is logarithmic (data-xscale="log") and y axis linear."""
    import numpy as np

    g = page.locator(f"{selector} g.plot")
    assert g.get_attribute("data-xscale") == "log" and g.get_attribute("data-yscale") == "linear"
    (x0, x1, y0, y1), (left, right, top, bottom), _ = plot_of(page, selector)
    line = page.locator(f'{selector} polyline[data-key="{key}"]')
    assert line.count() == 1, f"{selector}: {line.count()} polylines for {key}"
    pixels = np.array([[float(v) for v in p.split(",")] for p in line.get_attribute("points").split()])
    x = 10 ** (np.log10(x0) + (pixels[:, 0] - left) / (right - left) * (np.log10(x1) - np.log10(x0)))
    y = y0 + (bottom - pixels[:, 1]) / (bottom - top) * (y1 - y0)
    # Points written to 0.01 px: that much of a pixel in data units (x in decades).
    tolerance = (0.006 * (np.log10(x1) - np.log10(x0)) / (right - left), 0.006 * (y1 - y0) / (bottom - top))
    return np.column_stack([x, y]), tolerance


def test_the_range_test_panel_draws_the_data_of_each_beta(server, browser):
    """β at each end and in the middle, bias correction on and off: the
    costs, the average chosen and the suggestion are that setting's data
    (mapped back through the plot's log axis). The lesson on the page's own
    data: uncorrected, the average starts near zero, far below the first
    cost; corrected, at the first cost."""
    import numpy as np

    page, problems, data = open_explorer(server, browser)
    try:
        panel = data["range_test"]
        betas, alpha = panel["betas"], np.array(panel["alpha"])
        points, (dx, dy) = drawn_log_x(page, "#rt-plot", "loss")
        np.testing.assert_allclose(np.log10(points[:, 0]), np.log10(alpha), atol=dx)
        np.testing.assert_allclose(points[:, 1], panel["loss"], atol=dy)
        for i in ends_and_middle(betas):
            beta = g(slide(page, "rt-beta", i, betas))
            for on in (True, False):
                page.set_checked("#rt-correction", on)
                kind = "corrected" if on else "uncorrected"
                points, (dx, dy) = drawn_log_x(page, "#rt-plot", f"{kind}|{beta}")
                np.testing.assert_allclose(np.log10(points[:, 0]), np.log10(alpha), atol=dx)
                np.testing.assert_allclose(points[:, 1], panel[kind][beta], atol=dy)
                suggestion = page.locator(f'#rt-plot line[data-key="suggestion|{beta}"]')
                if on and panel["suggestion"][beta] is not None:
                    assert float(suggestion.get_attribute("data-value")) == panel["suggestion"][beta]
                    assert str(panel["suggestion"][beta]) in page.inner_text("#rt-reading")
                else:
                    assert suggestion.count() == 0
                reading = page.inner_text("#rt-reading")
                assert f"β = {beta}" in reading and f"last {round(1 / (1 - float(beta)))} mini-batch" in reading
                first = panel[kind][beta][0]
                if on:
                    assert first == pytest.approx(panel["loss"][0], rel=1e-3)  # V₁/(1 − β) = J₁, to 4 digits
                else:
                    assert first < 0.6 * panel["loss"][0] and "near zero" in reading
        assert {0.5, 0.9, 0.98} <= set(betas) and panel["stopped"] == "diverged"
        assert not problems, problems
    finally:
        page.close()


def test_the_paths_panel_draws_the_data_of_each_slider(server, browser):
    """Every surface and optimizer; α and each setting at each end and in
    the middle of its grid, red and blue; the course's lesson on the page's
    own drawing."""
    import numpy as np

    page, problems, data = open_explorer(server, browser)
    try:
        data = data["paths"]
        settings, alphas = data["settings"], data["alphas"]
        for surface in data["surfaces"]:
            page.select_option("#paths-surface", surface)
            for name in settings:
                page.select_option("#a-optimizer", name)
                for i in ends_and_middle(alphas):
                    slide(page, "a-alpha", i, alphas)
                    check_path(page, data, "a")
                for k, values in settings[name].items():
                    for i in ends_and_middle(values):
                        if k == "bias_correction":
                            page.set_checked("#a-bias_correction", bool(values[i]))
                        else:
                            slide(page, f"a-{k}", i, values)
                        check_path(page, data, "a")
        # The blue controls: "none" draws one path; each optimizer and α draws its own.
        page.select_option("#paths-surface", "valley")
        page.select_option("#b-optimizer", "none")
        assert page.locator('#paths-plot polyline[data-role="path"]').count() == 1
        for name in settings:
            page.select_option("#b-optimizer", name)
            for i in ends_and_middle(alphas):
                slide(page, "b-alpha", i, alphas)
                check_path(page, data, "b")
            for k, values in settings[name].items():
                if k == "bias_correction":
                    page.set_checked("#b-bias_correction", True)
                else:
                    slide(page, f"b-{k}", 0, values)
                check_path(page, data, "b")

        # The course's lesson, on the page's own drawing: at the same α, momentum
        # travels far less across the valley than gradient descent.
        page.select_option("#a-optimizer", "GradientDescent")
        slide(page, "a-alpha", alphas.index(0.5), alphas)
        page.select_option("#b-optimizer", "Momentum")
        slide(page, "b-alpha", alphas.index(0.5), alphas)
        slide(page, "b-beta", settings["Momentum"]["beta"].index(0.9), settings["Momentum"]["beta"])
        page.set_checked("#b-bias_correction", False)
        gd, momentum = check_path(page, data, "a"), check_path(page, data, "b")
        travel = lambda points: float(np.abs(np.diff(points[:, 1])).sum())  # noqa: E731
        assert travel(momentum) < travel(gd) / 10
        grid = page.inner_text("#paths-grid")
        assert all(g(a) in grid for a in alphas) and f"{data['steps']} steps" in grid
        assert not problems, problems
    finally:
        page.close()


def test_the_decay_panel_draws_the_data_of_each_slider_and_the_cloud_shrinks(server, browser):
    """Each optimizer and schedule; α₀ and the schedule's value at each end
    and in the middle: the last epochs' points, the no-decay cloud beside
    them and the α of every epoch are the data of that setting. On the
    page's own drawing, the last epoch's spread with decay is smaller than
    without."""
    import numpy as np

    page, problems, data = open_explorer(server, browser)
    try:
        data = data["decay"]
        alphas, per_epoch = data["alphas"], data["iterations_per_epoch"]

        def spread(points):
            return float(np.sqrt(np.mean(np.sum((points - points.mean(axis=0)) ** 2, axis=1))))

        def check():
            name, schedule = page.input_value("#decay-optimizer"), page.input_value("#decay-schedule")
            spec = data["schedules"][schedule]
            value = spec["values"][int(page.input_value("#decay-value"))]
            alpha = alphas[int(page.input_value("#decay-alpha"))]
            key = f"{name}|{g(alpha)}|{schedule}|{g(value)}"
            run = data["runs"][key]
            assert page.inner_text("#decay-value-label") == spec["argument"]
            points = assert_all_drawn(page, "#decay-path", key, run["wb"][: step_of(page, "decay") + 1], "path")
            assert_all_drawn(page, "#decay-alpha-plot", key, [[e, a] for e, a in enumerate(run["alpha"])], "alpha")
            base = data["baseline"]  # no decay: α₀ at every epoch
            assert data["runs"][f"{name}|{g(alpha)}|{base['schedule']}|{g(base['value'])}"]["alpha"] == [alpha] * data["epochs"]
            still = f"{name}|{g(alpha)}|{base['schedule']}|{g(base['value'])}"
            if run["alpha"][-1] < run["alpha"][0]:
                cloud = assert_all_drawn(page, "#decay-path", still, data["runs"][still]["wb"], "baseline")
                return run, points, data["runs"][still], cloud
            return run, points, run, points

        for name in data["optimizers"]:
            page.select_option("#decay-optimizer", name)
            for schedule, spec in data["schedules"].items():
                page.select_option("#decay-schedule", schedule)
                for i in ends_and_middle(alphas):
                    slide(page, "decay-alpha", i, alphas)
                    check()
                for i in ends_and_middle(spec["values"]):
                    if len(spec["values"]) > 1:
                        slide(page, "decay-value", i, spec["values"])
                    run, points, still, cloud = check()
                    if run["alpha"][-1] < run["alpha"][0]:  # the lesson: decay shrinks the cloud of the last epoch
                        assert run["spread"] < still["spread"], (name, schedule, i)
                        assert spread(points[-per_epoch:]) < spread(cloud[-per_epoch:])
                        # The reading is the drawing's: to 1%, and the points' six significant
                        # digits (each coordinate within 5e-6) for the tightest clouds.
                        np.testing.assert_allclose(spread(points[-per_epoch:]), run["spread"], rtol=0.01, atol=1e-5)
        assert data["schedules"]["InverseTimeEpochDecay"]["values"][0] == 0
        reading = page.inner_text("#decay-reading")
        assert "spread" in reading and "without decay" in reading
        assert not problems, problems
    finally:
        page.close()


def test_the_explorers_playback_draws_exactly_the_first_steps(server, browser):
    """In each panel that draws a path: the step slider at k draws exactly
    the first k steps (k + 1 points from the start) and their costs; play
    runs on, pause stops, and Space does both from the panel."""
    page, problems, data = open_explorer(server, browser)
    try:
        minibatch, paths, decay = data["minibatch"], data["paths"], data["decay"]
        key = "GradientDescent|0.05|1"
        for k in (0, 1, 17, minibatch["iterations"]):
            page.fill("#mb-step", str(k))
            assert page.inner_text("#mb-step-value").startswith(f"{k} of ")
            assert_all_drawn(page, "#mb-path", key, minibatch["runs"][key]["wb"][: k + 1], "path")
            if k:
                assert_all_drawn(page, "#mb-cost", key, [[t + 1, c] for t, c in enumerate(minibatch["runs"][key]["cost"][:k])],
                                 "cost")
            else:
                assert page.get_attribute(f'#mb-cost polyline[data-role="cost"]', "points") == ""
        for k in (0, 3, 30):
            page.fill("#paths-step", str(k))
            for prefix in ("a", "b"):
                assert len(check_path(page, paths, prefix)) <= k + 1
        for k in (0, 5, 48):
            page.fill("#decay-step", str(k))
            page.wait_for_timeout(10)
            run_key = page.get_attribute('#decay-path polyline[data-role="path"]', "data-key")
            assert_all_drawn(page, "#decay-path", run_key, decay["runs"][run_key]["wb"][: k + 1], "path")

        # Play from the start, pause, and the drawing is the first k steps.
        page.fill("#mb-step", "0")
        page.click("#mb-play")
        assert page.inner_text("#mb-play") == "pause"
        page.wait_for_function("Number(document.getElementById('mb-step').value) >= 5")
        page.click("#mb-play")
        assert page.inner_text("#mb-play") == "play"
        k = step_of(page, "mb")
        page.wait_for_timeout(200)
        assert step_of(page, "mb") == k, "paused, yet the step moved"
        assert_all_drawn(page, "#mb-path", key, minibatch["runs"][key]["wb"][: k + 1], "path")
        # Space, with the step slider focused: plays, then pauses.
        page.focus("#paths-step")
        page.fill("#paths-step", "0")
        page.keyboard.press(" ")
        page.wait_for_function("Number(document.getElementById('paths-step').value) >= 3")
        page.keyboard.press(" ")
        assert page.inner_text("#paths-play") == "play"
        # Playing to the end stops there.
        page.fill("#decay-step", "46")
        page.click("#decay-play")
        page.wait_for_function("document.getElementById('decay-play').textContent === 'play'", timeout=10000)
        assert step_of(page, "decay") == decay["tail_epochs"] * decay["iterations_per_epoch"]
        assert not problems, problems
    finally:
        page.close()


def test_the_explorer_works_from_the_keyboard_and_labels_every_control(server, browser):
    """Tab reaches every visible control; the arrow keys move a slider and
    the drawing follows; every control has a label; axes name their
    quantities; at a phone's width nothing overflows and the plots stack."""
    page, problems, data = open_explorer(server, browser)
    try:
        unlabelled = page.evaluate("""Array.from(document.querySelectorAll('.explorer select, .explorer input'))
            .filter(c => !c.labels.length || !c.labels[0].textContent.trim()).map(c => c.id)""")
        assert not unlabelled, unlabelled
        assert page.evaluate("Array.from(document.querySelectorAll('.explorer button')).every(b => b.textContent.trim())")
        numeric = page.evaluate("Array.from(document.querySelectorAll('.explorer input:not([type=checkbox])')).map(c => c.type)")
        assert set(numeric) == {"range"}, numeric  # every numeric control is a slider
        assert page.locator(".explorer select").count() == 6  # optimizers, surface, schedule: named, not numeric
        for svg in page.locator(".explorer svg").all():
            labels = svg.locator("text.axis-label").evaluate_all("ts => ts.map(t => t.textContent)")
            assert len(labels) == 2 and all(label.strip() for label in labels), labels
        visible = page.evaluate("""Array.from(document.querySelectorAll('.explorer select, .explorer input, .explorer button'))
            .filter(c => c.offsetParent !== null).map(c => c.id)""")
        page.focus("#mb-optimizer")
        reached = {page.evaluate("document.activeElement.id")}
        for _ in range(len(visible) + 20):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.id"))
        assert set(visible) <= reached, set(visible) - reached
        # The arrow keys move a slider, and the drawing follows.
        sizes = data["minibatch"]["batch_sizes"]
        page.fill("#mb-batch", "0")
        page.focus("#mb-batch")
        page.keyboard.press("ArrowRight")
        assert page.inner_text("#mb-batch-value") == str(sizes[1])
        assert page.get_attribute('#mb-path polyline[data-role="path"]', "data-key").endswith(f"|{sizes[1]}")
        assert not problems, problems
    finally:
        page.close()
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        phone.goto(f"{server}/explorer.html", wait_until="networkidle")
        phone.wait_for_function("document.getElementById('explorer-decay').dataset.ready === '1'")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        path, cost = phone.locator("#mb-path").bounding_box(), phone.locator("#mb-cost").bounding_box()
        assert cost["y"] >= path["y"] + path["height"] - 1  # stacked
    finally:
        phone.close()


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
