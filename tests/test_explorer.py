"""The Explorer page's data (docs/explorer_data.py, docs/explorer_training.py):
computed by the package's optimizers, schedules and callbacks, and held here
to the NumPy reference of the verification suite, step by step (and mini-batch
by mini-batch, with the batches Keras's fit cut), on sampled settings of
every panel. (The page itself is driven in chromium by tests/test_site.py.)"""

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from keras_optims.verification import reference
from keras_optims.verification.tolerances import step_tolerance



def load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


explorer = load("explorer_data")
training = load("explorer_training")
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

    training.fit(keras_optims.GradientDescent(1e-3), batch_size, epochs, model_layers=[Numbers()])
    return tuple(seen)


def reference_training(name, learning_rate_of_epoch, batches):
    """(w, b) from the start after each mini-batch, and each mini-batch's
    cost at the weights it was computed with, by the course's rules: for
    ŷ = w·x + b and J = (1/B)·Σ (ŷ − y)², dw = (2/B)·Σ (ŷ − y)·x and
    db = (2/B)·Σ (ŷ − y)."""
    x, y = training.dataset()
    step, count, hyper = COURSE[name]
    per_epoch = training.iterations_per_epoch(len(batches[0])) if batches else 1
    W, state = np.array(training.START), [np.zeros(2)] * count
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
    ("GradientDescent", 0.01, training.M),  # batch gradient descent: 256 epochs of one step
]


@pytest.mark.parametrize("name, alpha, batch_size", MINIBATCH_SAMPLES,
                         ids=[training.minibatch_key(*s) for s in MINIBATCH_SAMPLES])
def test_sampled_minibatch_runs_are_the_references_batch_by_batch(name, alpha, batch_size):
    """The panel's path, mini-batch costs and their average (before
    rounding) against the reference fed the batches fit cut: every
    example once per epoch, a new order each epoch."""
    run = training.minibatch_run(name, alpha, batch_size)
    per_epoch = training.iterations_per_epoch(batch_size)
    batches = batches_cut_by_fit(batch_size, training.ITERATIONS // per_epoch)
    assert len(batches) == training.ITERATIONS
    for e in range(training.ITERATIONS // per_epoch):
        epoch = np.concatenate(batches[e * per_epoch : (e + 1) * per_epoch])
        assert sorted(epoch.tolist()) == list(range(training.M)), f"epoch {e} is not a permutation"
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
                         ids=[training.decay_key(*s) for s in DECAY_SAMPLES])
def test_sampled_decay_runs_are_the_references_batch_by_batch(name, alpha0, schedule, value):
    """The panel's last epochs, its point after every epoch and the α that
    LearningRateLogger logged for each epoch, against the reference with
    α of each epoch by the course's formula, on fit's batches. α: a
    division or a power, a few roundings (4·u)."""
    run = training.decay_run(name, alpha0, schedule, value)
    per_epoch = training.iterations_per_epoch(training.DECAY_BATCH)
    batches = batches_cut_by_fit(training.DECAY_BATCH, training.DECAY_EPOCHS)
    rate = functools.partial(SCHEDULES[schedule], alpha0, value)
    path, _ = reference_training(name, rate, batches)
    assert_path(run["wb"], path[(training.DECAY_EPOCHS - training.TAIL_EPOCHS) * per_epoch:])
    assert_path(run["epochs"], path[::per_epoch])
    np.testing.assert_allclose(run["alpha"], [rate(e) for e in range(training.DECAY_EPOCHS)], rtol=4 * U, atol=0)


@pytest.mark.once
def test_the_training_panels_offer_the_courses_settings():
    """Batch sizes from 1 (stochastic) through powers of two to m (batch);
    every batch size runs whole epochs; no decay is the first value of every
    schedule, and the course's example rate 0.95 is offered."""
    sizes = training.BATCH_SIZES
    assert sizes[0] == 1 and sizes[-1] == training.M and list(sizes) == sorted(sizes)
    assert all(b & (b - 1) == 0 for b in sizes) and {64} <= set(sizes)
    assert all(training.ITERATIONS % training.iterations_per_epoch(b) == 0 for b in sizes)
    assert set(training.MINIBATCH_OPTIMIZERS) >= {"GradientDescent", "Momentum", "Adam"}
    assert training.DECAY_SCHEDULES["InverseTimeEpochDecay"][1][0] == 0.0
    assert training.DECAY_SCHEDULES["ExponentialEpochDecay"][1][0] == 1.0
    assert 0.95 in training.DECAY_SCHEDULES["ExponentialEpochDecay"][1]


@pytest.mark.once
def test_the_regression_problems_minimum_and_cost():
    """J's minimum is where its gradient, (2/m)·Σ (w·x + b − y)·(x, 1),
    vanishes; J at the start is the mean squared residual, by hand."""
    x, y = training.dataset()
    w, b = training.minimum(x, y)
    residual = w * x + b - y
    np.testing.assert_allclose([np.mean(residual * x), np.mean(residual)], 0.0, atol=1e-13)
    w0, b0 = training.START
    assert training.cost(w0, b0, x, y) == pytest.approx(np.mean((w0 * x + b0 - y) ** 2), rel=1e-15)
    assert np.all(training.cost(np.array([w, w + 0.1]), np.array([b, b]), x, y) >= training.cost(w, b, x, y))


@pytest.mark.once
def test_spread_and_wander_by_hand():
    square = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
    assert training.spread(square) == pytest.approx(np.sqrt(2.0))
    assert training.wander(np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 0.0]])) == pytest.approx(10.0 / 6.0)
    assert training.wander(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])) == pytest.approx(1.0)
    path = np.array([[0.0, 0.0], [1.0, 0.0], [np.nan, 0.0], [2.0, 0.0]])
    assert len(training.finite_prefix(path)) == 2
    x0, x1, y0, y1 = training.BOX
    assert len(training.finite_prefix(np.array([[0.0, 0.0], [x1 + 2 * (x1 - x0), 0.0], [0.0, 0.0]]))) == 2
