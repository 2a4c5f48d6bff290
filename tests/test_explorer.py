"""The Explorer page's data (docs/explorer_data.py): computed by the package's
optimizers and EWMA callback, and held here to the NumPy reference of the
verification suite, step by step, on sampled settings. (The page itself is
driven in chromium by tests/test_site.py.)"""

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from keras_optims.verification import reference
from keras_optims.verification.tolerances import step_tolerance

SPEC = importlib.util.spec_from_file_location("explorer_data", Path(__file__).parents[1] / "docs" / "explorer_data.py")
explorer = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(explorer)

# The reference step of each optimizer, in the course's arguments.
STEPS = {
    "GradientDescent": lambda kw: (reference.gd_step, 0, {}),
    "Momentum": lambda kw: (reference.momentum_step, 1,
                            {"beta": kw["beta"], "bias_correction": kw["bias_correction"]}),
    "RMSProp": lambda kw: (reference.rmsprop_step, 1, {"beta": kw["beta"], "eps": 1e-8}),
    "Adam": lambda kw: (reference.adam_step, 2, {"beta1": kw["beta_1"], "beta2": kw["beta_2"], "eps": 1e-8}),
}

# Sampled settings: the course's lesson (α = 0.5 on the valley), each
# optimizer at a rate from each end of the grid, and walks that run away.
SAMPLES = [
    ("GradientDescent", {"learning_rate": 0.5}),
    ("GradientDescent", {"learning_rate": 1.0}),
    ("Momentum", {"learning_rate": 0.5, "beta": 0.9, "bias_correction": False}),
    ("Momentum", {"learning_rate": 0.002, "beta": 0.98, "bias_correction": True}),
    ("RMSProp", {"learning_rate": 0.02, "beta": 0.9}),
    ("Adam", {"learning_rate": 0.05, "beta_1": 0.9, "beta_2": 0.999}),
    ("Adam", {"learning_rate": 1.0, "beta_1": 0.5, "beta_2": 0.99}),
]


def reference_walk(name, kwargs, surface, steps):
    """The surface's path by the reference step, stopped as the page's data
    stops (not finite, or outside twice the box: that point is kept)."""
    _, gradient, start, _, box = explorer.SURFACES[surface]
    step, count, hyper = STEPS[name](kwargs)
    step = functools.partial(step, lr=kwargs["learning_rate"], **hyper)
    W, state, path = np.array(start, dtype=np.float64), [np.zeros(2)] * count, [np.array(start)]
    for t in range(1, steps + 1):
        W, *state = step(W, np.array(gradient(*W)), *state, t)
        if not np.all(np.isfinite(W)):
            break
        path.append(W.copy())
        if not explorer.inside(W, box):
            break
    return np.array(path)


@pytest.mark.parametrize("name, kwargs", SAMPLES, ids=[explorer.key(*s) for s in SAMPLES])
def test_sampled_paths_are_the_references_step_by_step(name, kwargs):
    """Each surface's path, as the page's data holds it before rounding,
    against the reference: same length, every point within the float64 step
    tolerance (normwise, relative to the largest |W| so far, as the
    verification suite measures)."""
    paths = explorer.walk(name, kwargs)
    for surface, got in paths.items():
        want = reference_walk(name, kwargs, surface, explorer.STEPS)
        assert got.shape == want.shape, (surface, got.shape, want.shape)
        peak = np.maximum.accumulate(np.max(np.abs(want), axis=1))
        errors = np.max(np.abs(got - want), axis=1) / peak
        assert np.all(errors <= step_tolerance("float64", 1)), (surface, int(np.argmax(errors)), errors.max())


def test_the_lesson_holds_on_the_data():
    """At α = 0.5 on the valley, gradient descent bounces across for ever
    (y ← (1 − 4α)·y = −y: it travels 2·1.8 per step), and momentum at the
    same α travels far less across the valley."""
    gd = explorer.walk("GradientDescent", {"learning_rate": 0.5})["valley"]
    momentum = explorer.walk("Momentum", {"learning_rate": 0.5, "beta": 0.9, "bias_correction": False})["valley"]
    travel = lambda path: float(np.abs(np.diff(path[:, 1])).sum())  # noqa: E731
    np.testing.assert_allclose(travel(gd), 2 * 1.8 * explorer.STEPS)
    assert travel(momentum) < travel(gd) / 10


@pytest.mark.parametrize("beta", [0.5, 0.98])
@pytest.mark.parametrize("corrected", [True, False])
def test_the_averages_are_the_references(beta, corrected):
    """The EWMA callback's averages of the page's year of temperatures
    against reference.ewma: the callback recovers each day from Keras's
    running mean of the epoch (≤ k·u of the mean at day k of 365), so 1e3·u
    of the series' scale."""
    series = explorer.temperatures()
    got = explorer.averages(beta, corrected, series)
    want = reference.ewma(series, beta, bias_correction=corrected)
    assert got.shape == (explorer.DAYS,)
    assert np.max(np.abs(got - want)) <= 1e3 * 2.0**-53 * np.max(np.abs(series))
    if corrected:
        assert got[0] == pytest.approx(series[0], rel=1e-12)  # V₁/(1 − β) = θ₁


@pytest.mark.once
def test_values_are_written_with_their_significant_digits():
    assert explorer.rounded(np.array([[1.23456, -0.000123456], [987654.0, 0.0]])) == [[1.235, -0.0001235],
                                                                                      [987700.0, 0.0]]
    assert explorer.key("Momentum", {"learning_rate": 0.5, "beta": 0.9, "bias_correction": True}) == \
        "Momentum|0.5|beta=0.9|bias_correction=1"


@pytest.mark.once
def test_the_grid_has_the_courses_values_and_every_setting():
    assert {0.5, 0.9, 0.98} <= set(explorer.BETAS)
    assert explorer.ALPHAS == tuple(sorted(explorer.ALPHAS)) and {0.5, 0.005, 0.05} <= set(explorer.ALPHAS)
    configurations = list(explorer.configurations())
    per_alpha = {"GradientDescent": 1, "Momentum": 3 * 2, "RMSProp": 2, "Adam": 2 * 2}
    assert len(configurations) == len(explorer.ALPHAS) * sum(per_alpha.values())
    assert len({explorer.key(*c) for c in configurations}) == len(configurations)


@pytest.mark.once
@pytest.mark.parametrize("surface", list(explorer.SURFACES))
def test_each_surfaces_gradient_is_its_functions(surface):
    """The hand-written derivative that both the page's data and the
    reference walk use, against central differences of the surface."""
    function, gradient, start, _, (x0, x1, y0, y1) = explorer.SURFACES[surface]
    rng = np.random.default_rng(0)
    for x, y in [start, *zip(rng.uniform(x0, x1, 5), rng.uniform(y0, y1, 5))]:
        h = 1e-6  # rounding ≈ u·|f|/h ≈ 1e-10·|f|, truncation ≈ h²·|f‴| ≈ 1e-12: far inside 1e-6
        numeric = [(function(x + h, y) - function(x - h, y)) / (2 * h), (function(x, y + h) - function(x, y - h)) / (2 * h)]
        np.testing.assert_allclose(gradient(x, y), numeric, rtol=1e-6, atol=1e-6)
