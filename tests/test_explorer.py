"""The Explorer page's data (the docs/explorer_data package):
computed by the package's optimizers, schedules and callbacks, and held here
to the NumPy reference of the verification suite, step by step (and mini-batch
by mini-batch, with the batches Keras's fit cut), on sampled settings of
every panel. (The page itself is driven in chromium by tests/test_site.py.)"""

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_optims.verification import reference
from keras_optims.verification.tolerances import step_tolerance



sys.path.insert(0, str(Path(__file__).parents[1] / "docs"))  # the docs package explorer_data

from explorer_data import averages, common, decay, minibatch, paths, problem  # noqa: E402
from explorer_data import range_test as range_panel  # noqa: E402

U = 2.0**-53  # float64's unit roundoff

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
    _, gradient, start, _, box = paths.SURFACES[surface]
    step, count, hyper = STEPS[name](kwargs)
    step = functools.partial(step, lr=kwargs["learning_rate"], **hyper)
    W, state, path = np.array(start, dtype=np.float64), [np.zeros(2)] * count, [np.array(start)]
    for t in range(1, steps + 1):
        W, *state = step(W, np.array(gradient(*W)), *state, t)
        if not np.all(np.isfinite(W)):
            break
        path.append(W.copy())
        if not common.inside(W, box):
            break
    return np.array(path)


@pytest.mark.parametrize("name, kwargs", SAMPLES, ids=[paths.key(*s) for s in SAMPLES])
def test_sampled_paths_are_the_references_step_by_step(name, kwargs):
    """Each surface's path, as the page's data holds it before rounding,
    against the reference: same length, every point within the float64 step
    tolerance (normwise, relative to the largest |W| so far, as the
    verification suite measures)."""
    walked = paths.walk(name, kwargs)
    for surface, got in walked.items():
        want = reference_walk(name, kwargs, surface, paths.STEPS)
        assert got.shape == want.shape, (surface, got.shape, want.shape)
        peak = np.maximum.accumulate(np.max(np.abs(want), axis=1))
        errors = np.max(np.abs(got - want), axis=1) / peak
        assert np.all(errors <= step_tolerance("float64", 1)), (surface, int(np.argmax(errors)), errors.max())


def test_the_lesson_holds_on_the_data():
    """At α = 0.5 on the valley, gradient descent bounces across for ever
    (y ← (1 − 4α)·y = −y: it travels 2·1.8 per step), and momentum at the
    same α travels far less across the valley."""
    gd = paths.walk("GradientDescent", {"learning_rate": 0.5})["valley"]
    momentum = paths.walk("Momentum", {"learning_rate": 0.5, "beta": 0.9, "bias_correction": False})["valley"]
    travel = lambda path: float(np.abs(np.diff(path[:, 1])).sum())  # noqa: E731
    np.testing.assert_allclose(travel(gd), 2 * 1.8 * paths.STEPS)
    assert travel(momentum) < travel(gd) / 10


@pytest.mark.parametrize("beta", [0.5, 0.98])
@pytest.mark.parametrize("corrected", [True, False])
def test_the_averages_are_the_references(beta, corrected):
    """The EWMA callback's averages of the page's year of temperatures
    against reference.ewma: the callback recovers each day from Keras's
    running mean of the epoch (≤ k·u of the mean at day k of 365), so 1e3·u
    of the series' scale."""
    series = averages.temperatures()
    got = averages.averages(beta, corrected, series)
    want = reference.ewma(series, beta, bias_correction=corrected)
    assert got.shape == (averages.DAYS,)
    assert np.max(np.abs(got - want)) <= 1e3 * 2.0**-53 * np.max(np.abs(series))
    if corrected:
        assert got[0] == pytest.approx(series[0], rel=1e-12)  # V₁/(1 − β) = θ₁


@pytest.mark.once
def test_values_are_written_with_their_significant_digits():
    assert common.rounded(np.array([[1.23456, -0.000123456], [987654.0, 0.0]])) == [[1.235, -0.0001235],
                                                                                      [987700.0, 0.0]]
    assert paths.key("Momentum", {"learning_rate": 0.5, "beta": 0.9, "bias_correction": True}) == \
        "Momentum|0.5|beta=0.9|bias_correction=1"


@pytest.mark.once
def test_the_grid_has_the_courses_values_and_every_setting():
    assert {0.5, 0.9, 0.98} <= set(averages.BETAS)
    assert paths.ALPHAS == tuple(sorted(paths.ALPHAS)) and {0.5, 0.005, 0.05} <= set(paths.ALPHAS)
    configurations = list(paths.configurations())
    per_alpha = {"GradientDescent": 1, "Momentum": 3 * 2, "RMSProp": 2, "Adam": 2 * 2}
    assert len(configurations) == len(paths.ALPHAS) * sum(per_alpha.values())
    assert len({paths.key(*c) for c in configurations}) == len(configurations)


@pytest.mark.once
@pytest.mark.parametrize("surface", list(paths.SURFACES))
def test_each_surfaces_gradient_is_its_functions(surface):
    """The hand-written derivative that both the page's data and the
    reference walk use, against central differences of the surface."""
    function, gradient, start, _, (x0, x1, y0, y1) = paths.SURFACES[surface]
    rng = np.random.default_rng(0)
    for x, y in [start, *zip(rng.uniform(x0, x1, 5), rng.uniform(y0, y1, 5))]:
        h = 1e-6  # rounding ≈ u·|f|/h ≈ 1e-10·|f|, truncation ≈ h²·|f‴| ≈ 1e-12: far inside 1e-6
        numeric = [(function(x + h, y) - function(x - h, y)) / (2 * h), (function(x, y + h) - function(x, y - h)) / (2 * h)]
        np.testing.assert_allclose(gradient(x, y), numeric, rtol=1e-6, atol=1e-6)


# ---- The training panels: mini-batches and decay ----

# The course's arguments of the panels' optimizers, written here from the
# course (β = 0.9; Adam's β₁ = 0.9, β₂ = 0.999, ε = 1e-8), not read from the
# generator.
COURSE = {
    "GradientDescent": (reference.gd_step, 0, {}),
    "Momentum": (reference.momentum_step, 1, {"beta": 0.9, "bias_correction": False}),
    "Adam": (reference.adam_step, 2, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
}


@functools.cache
def batches_cut_by_fit(batch_size, epochs):
    """Which examples each mini-batch of the panels' `fit` holds: the same
    seeded `fit`, with each example's number riding along in a second column
    that a first layer records and drops. (If fit's shuffle depended on the
    model, the reference below would see other batches and fail.)"""
    import keras

    import keras_optims

    seen = []

    class Numbers(keras.layers.Layer):
        def call(self, inputs, training=None):
            if training:  # not the symbolic or placeholder calls that build the model
                seen.append(np.asarray(keras.ops.convert_to_numpy(inputs[:, 1])).astype(int))
            return inputs[:, :1]

    problem.fit(keras_optims.GradientDescent(1e-3), batch_size, epochs, model_layers=[Numbers()])
    return tuple(seen)


def reference_training(name, learning_rate_of_epoch, batches):
    """(w, b) from the start after each mini-batch, and each mini-batch's
    cost at the weights it was computed with, by the course's rules: for
    ŷ = w·x + b and J = (1/B)·Σ (ŷ − y)², dw = (2/B)·Σ (ŷ − y)·x and
    db = (2/B)·Σ (ŷ − y)."""
    x, y = problem.dataset()
    step, count, hyper = COURSE[name]
    per_epoch = problem.iterations_per_epoch(len(batches[0])) if batches else 1
    W, state = np.array(problem.START), [np.zeros(2)] * count
    path, costs = [W.copy()], []
    for t, examples in enumerate(batches, start=1):
        xb, yb = x[examples], y[examples]
        residual = W[0] * xb + W[1] - yb
        costs.append(np.mean(residual**2))
        gradient = np.array([2 * np.mean(residual * xb), 2 * np.mean(residual)])
        W, *state = step(W, gradient, *state, t, lr=learning_rate_of_epoch((t - 1) // per_epoch), **hyper)
        path.append(W.copy())
    return np.array(path), np.array(costs)


def assert_path(got, want):
    """Normwise, relative to the largest |W| so far, within the float64
    step tolerance (as the verification suite measures)."""
    assert got.shape == want.shape, (got.shape, want.shape)
    peak = np.maximum.accumulate(np.max(np.abs(want), axis=1))
    errors = np.max(np.abs(got - want), axis=1) / peak
    assert np.all(errors <= step_tolerance("float64", 1)), (int(np.argmax(errors)), errors.max())


def assert_costs(got, want, per_epoch, beta=None):
    """The EWMA callback recovers each batch's cost from the loss tracker's
    running sum of the epoch: after k batches that sum has a rounding error
    of about k·u·max cost, and the difference of two sums twice that; so
    4·(batches per epoch)·u·max cost, with a factor 2 for the division.
    An average of those (`beta`) carries that error (its weights sum to 1)
    and adds its own: a few roundings per step (V ← β·V + (1 − β)·θ), each
    fading by β per step, about 3·u/(1 − β) in all, and the bias
    correction's division: 4/(1 − β)·u·max cost."""
    units = 4 * per_epoch + (0 if beta is None else 4 / (1 - beta))
    np.testing.assert_allclose(got, want, rtol=0, atol=units * U * np.max(np.abs(want)))


MINIBATCH_SAMPLES = [
    ("GradientDescent", 0.05, 1),     # stochastic: one example a step, one epoch
    ("Momentum", 0.2, 4),             # the largest α
    ("Adam", 0.01, 64),
    ("GradientDescent", 0.01, problem.M),  # batch gradient descent: 256 epochs of one step
]


@pytest.mark.parametrize("name, alpha, batch_size", MINIBATCH_SAMPLES,
                         ids=[minibatch.key(*s) for s in MINIBATCH_SAMPLES])
def test_sampled_minibatch_runs_are_the_references_batch_by_batch(name, alpha, batch_size):
    """The panel's path, mini-batch costs and their average (before
    rounding) against the reference fed the batches fit cut: every
    example once per epoch, a new order each epoch."""
    run = minibatch.run_one(name, alpha, batch_size)
    per_epoch = problem.iterations_per_epoch(batch_size)
    batches = batches_cut_by_fit(batch_size, minibatch.ITERATIONS // per_epoch)
    assert len(batches) == minibatch.ITERATIONS
    for e in range(minibatch.ITERATIONS // per_epoch):
        epoch = np.concatenate(batches[e * per_epoch : (e + 1) * per_epoch])
        assert sorted(epoch.tolist()) == list(range(problem.M)), f"epoch {e} is not a permutation"
    path, costs = reference_training(name, lambda e: alpha, batches)
    assert_path(run["wb"], path)
    assert_costs(run["cost"], costs, per_epoch)
    # The average the course draws over the mini-batch costs: β = 0.9.
    assert_costs(run["ewma"], reference.ewma(costs, 0.9, bias_correction=True), per_epoch, 0.9)


DECAY_SAMPLES = [
    ("GradientDescent", 0.1, "InverseTimeEpochDecay", 0.3),
    ("Adam", 0.05, "ExponentialEpochDecay", 0.95),
    ("Momentum", 0.1, "InverseSqrtEpochDecay", 1.0),
    ("GradientDescent", 0.05, "InverseTimeEpochDecay", 0.0),  # no decay
]
# α of the 0-based epoch e, by the course's formulas (reference.schedules);
# the inverse square root counts epochs from 1 (the lecture's numbering).
SCHEDULES = {
    "InverseTimeEpochDecay": lambda a, v, e: reference.inverse_time_decay(a, v, e),
    "ExponentialEpochDecay": lambda a, v, e: reference.exponential_decay(a, v, e),
    "InverseSqrtEpochDecay": lambda a, v, e: reference.inverse_sqrt_decay(a, v, e + 1),
}


@pytest.mark.parametrize("name, alpha0, schedule, value", DECAY_SAMPLES,
                         ids=[decay.key(*s) for s in DECAY_SAMPLES])
def test_sampled_decay_runs_are_the_references_batch_by_batch(name, alpha0, schedule, value):
    """The panel's last epochs, its point after every epoch and the α that
    LearningRateLogger logged for each epoch, against the reference with
    α of each epoch by the course's formula, on fit's batches. α: a
    division or a power, a few roundings (4·u)."""
    run = decay.run_one(name, alpha0, schedule, value)
    per_epoch = problem.iterations_per_epoch(decay.BATCH)
    batches = batches_cut_by_fit(decay.BATCH, decay.EPOCHS)
    rate = functools.partial(SCHEDULES[schedule], alpha0, value)
    path, _ = reference_training(name, rate, batches)
    assert_path(run["wb"], path[(decay.EPOCHS - decay.TAIL_EPOCHS) * per_epoch:])
    assert_path(run["epochs"], path[::per_epoch])
    np.testing.assert_allclose(run["alpha"], [rate(e) for e in range(decay.EPOCHS)], rtol=4 * U, atol=0)


@pytest.mark.once
def test_the_training_panels_offer_the_courses_settings():
    """Batch sizes from 1 (stochastic) through powers of two to m (batch);
    every batch size runs whole epochs; no decay is the first value of every
    schedule, and the course's example rate 0.95 is offered."""
    sizes = minibatch.BATCH_SIZES
    assert sizes[0] == 1 and sizes[-1] == problem.M and list(sizes) == sorted(sizes)
    assert all(b & (b - 1) == 0 for b in sizes) and {64} <= set(sizes)
    assert all(minibatch.ITERATIONS % problem.iterations_per_epoch(b) == 0 for b in sizes)
    assert set(minibatch.OPTIMIZERS) >= {"GradientDescent", "Momentum", "Adam"}
    assert decay.SCHEDULES["InverseTimeEpochDecay"][1][0] == 0.0
    assert decay.SCHEDULES["ExponentialEpochDecay"][1][0] == 1.0
    assert 0.95 in decay.SCHEDULES["ExponentialEpochDecay"][1]


@pytest.mark.once
def test_the_regression_problems_minimum_and_cost():
    """J's minimum is where its gradient, (2/m)·Σ (w·x + b − y)·(x, 1),
    vanishes; J at the start is the mean squared residual, by hand."""
    x, y = problem.dataset()
    w, b = problem.minimum(x, y)
    residual = w * x + b - y
    np.testing.assert_allclose([np.mean(residual * x), np.mean(residual)], 0.0, atol=1e-13)
    w0, b0 = problem.START
    assert problem.cost(w0, b0, x, y) == pytest.approx(np.mean((w0 * x + b0 - y) ** 2), rel=1e-15)
    assert np.all(problem.cost(np.array([w, w + 0.1]), np.array([b, b]), x, y) >= problem.cost(w, b, x, y))


@pytest.mark.once
def test_spread_and_wander_by_hand():
    square = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
    assert problem.spread(square) == pytest.approx(np.sqrt(2.0))
    assert problem.wander(np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 0.0]])) == pytest.approx(10.0 / 6.0)
    assert problem.wander(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])) == pytest.approx(1.0)
    path = np.array([[0.0, 0.0], [1.0, 0.0], [np.nan, 0.0], [2.0, 0.0]])
    assert len(common.finite_prefix(path, problem.BOX)) == 2
    x0, x1, y0, y1 = problem.BOX
    assert len(common.finite_prefix(np.array([[0.0, 0.0], [x1 + 2 * (x1 - x0), 0.0], [0.0, 0.0]]), problem.BOX)) == 2


# ---- The range test ----


def test_the_range_test_panel_is_the_references_batch_by_batch():
    """The panel's range test (gradient descent, B = 16) against the course's
    rules on the batches fit cut, with α of step k by the range test's
    formula; its averages at every β against reference.ewma of the
    reference's costs."""
    found = range_panel.run_one()
    count = len(found.losses)
    rates = [reference.range_test_rate(range_panel.LOW, range_panel.HIGH, range_panel.STEPS, k) for k in range(count)]
    # α: a power of a rounded exponent, (4 + 2·ln(high/low))·u (verification/range_test.py).
    np.testing.assert_allclose(found.learning_rates, rates, rtol=(4 + 2 * np.log(1e5)) * U, atol=0)
    per_epoch = problem.iterations_per_epoch(range_panel.BATCH)
    batches = batches_cut_by_fit(range_panel.BATCH, -(-range_panel.STEPS // per_epoch))[:count]
    x, y = problem.dataset()
    W, costs = np.array(problem.START), []
    for alpha, examples in zip(rates, batches):
        residual = W[0] * x[examples] + W[1] - y[examples]
        costs.append(np.mean(residual**2))
        W = W - alpha * np.array([2 * np.mean(residual * x[examples]), 2 * np.mean(residual)])
    costs = np.array(costs)
    assert found.stopped == "diverged" and count < range_panel.STEPS  # the whole curve: it explodes
    # Under JAX α comes from RangeTestSchedule (computed in the step, within
    # (4 + 2·ln(high/low))·u of the formula); each step's α then moves the
    # weights, and so the costs after it, by up to that much relative, once
    # per step: (k + 1) times it at step k, on top of assert_costs's sums.
    schedule = (4 + 2 * np.log(range_panel.HIGH / range_panel.LOW)) * U
    tolerance = (np.arange(count) + 1) * schedule + 4 * per_epoch * U
    assert np.all(np.abs(found.losses - costs) <= tolerance * costs), int(np.argmax(np.abs(found.losses - costs) / costs))
    for beta in range_panel.BETAS:
        for corrected in (True, False):
            got = range_panel.averages(found.losses, beta, corrected)
            # An average of costs each within tolerance[-1] relative (its
            # weights sum to 1), plus its own 4/(1 − β)·u (assert_costs).
            bound = (tolerance[-1] + 4 / (1 - beta) * U) * np.max(costs)
            np.testing.assert_allclose(got, reference.ewma(costs, beta, bias_correction=corrected), rtol=0, atol=bound)
        # The lesson: uncorrected, the average starts at (1 − β)·J₁, near 0.
        assert range_panel.averages(found.losses, beta, False)[0] == pytest.approx((1 - beta) * costs[0], rel=1e-15)
    # At the course's β ≥ 0.9 the suggestion is below batch descent's
    # stability limit on this problem, 2/λ_max with λ_max ≈ 4.4 (problem.py).
    for beta in (0.9, 0.95, 0.98):
        alpha, reason = range_panel.suggestion(found, range_panel.averages(found.losses, beta, True))
        assert alpha is not None and alpha < 2 / 4.4, (beta, reason)
