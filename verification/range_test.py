"""The learning-rate range test against `reference.range_test`: its α
schedule step by step, and a whole test in `fit` on the model whose steps
are known in closed form (a linear model, the whole data set as one batch,
gradient descent, float64), each recorded loss and its average.

`run_linear` is shared by the suite's rows and the tests."""

import math

import keras
import numpy as np

import keras_optims
from keras_optims.tuning import RangeTestSchedule, find_learning_rate
from keras_optims.verification import reference
from keras_optims.verification.equivalences import schedule_report
from keras_optims.verification.harness import Report
from keras_optims.verification.tolerances import UNIT_ROUNDOFF
from keras_optims.verification.training import ExactDense, floatx

U = UNIT_ROUNDOFF["float64"]


class SquaredError(keras.losses.Loss):
    """(1/m)·Σᵢ (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)² over a batch of m examples, written with
    `ops.sum` so that float64 stays float64 on every backend (see
    `training.ExactDense`): each example's term is divided by m and Keras
    sums them ("sum" reduction)."""

    def __init__(self):
        super().__init__(reduction="sum", name="squared_error")

    def call(self, y_true, y_pred):
        m = keras.ops.cast(keras.ops.shape(y_true)[0], y_pred.dtype)
        return keras.ops.sum((y_pred - y_true) ** 2, axis=-1) / m


def schedule_tolerance(low, high):
    """float64 α_k = low·(high/low)^(k/(K − 1)): the exponent is rounded once
    (1u), which moves the power by |ln(high/low)|·u relative; the ratio, the
    power and the product add a few u."""
    return (4 + 2 * abs(math.log(high / low))) * U


def schedule_rows_data(steps=100, low=1e-7, high=10.0, start=5):
    """(Report of RangeTestSchedule against the formula, the same for a
    schedule that starts one step late: a control)."""
    at_step = lambda step: reference.range_test_rate(low, high, steps, min(max(step - start, 0), steps - 1))  # noqa: E731
    tolerance = schedule_tolerance(low, high)
    count = steps + start + 3  # before the start, through the test, past its end
    good = schedule_report("range test α", RangeTestSchedule(low, high, steps, start), at_step, count, lambda s: tolerance)
    late = schedule_report("range test α, one step late", RangeTestSchedule(low, high, steps, start + 1), at_step,
                           count, lambda s: tolerance)
    return good, late


def linear_problem(seed=0, m=64, n_x=3):
    """X (n_x, m), Y (1, m), W (1, n_x), b: a seeded linear regression with
    noise, features scaled so that J's curvature is about 2 (stable
    gradient descent below α ≈ 1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    Y = np.array([[1.5, -2.0, 0.5][:n_x]]) @ X + 0.3 + 0.1 * rng.standard_normal((1, m))
    W = 0.1 * rng.standard_normal((1, n_x))
    return X, Y, W, 0.0


# The linear test's α range and length: from too small to move the loss to
# just below the largest stable α (about 1, the curvature being about 2).
LOW, HIGH, STEPS = 1e-3, 1.5, 40


def run_linear(steps=STEPS, low=LOW, high=HIGH, beta=0.9, seed=0, stop_factor=4.0, schedule=False):
    """A range test by `find_learning_rate` on the linear problem, whole-data
    batches, float64, gradient descent whose own learning rate is a number
    (the test sets α between steps, except under JAX) or, with
    `schedule=True`, an epoch schedule (the test swaps in its own schedule).
    Returns (LearningRateRange, the reference's losses for the same number
    of steps)."""
    X, Y, W, b = linear_problem(seed)
    own = keras_optims.schedules.ExponentialEpochDecay(0.1, 0.5, steps_per_epoch=1) if schedule else 0.01
    with floatx("float64"):
        model = keras.Sequential([keras.Input((X.shape[0],), dtype="float64"), ExactDense(1, dtype="float64")])
        model.set_weights([W.T, np.array([b])])
        model.compile(optimizer=keras_optims.GradientDescent(own), loss=SquaredError())
        found = find_learning_rate(model, X.T, Y.T, batch_size=X.shape[1], min_learning_rate=low,
                                   max_learning_rate=high, steps=steps, beta=beta, stop_factor=stop_factor, verbose=0)
    rates = [reference.range_test_rate(low, high, steps, k) for k in range(len(found.losses))]
    return found, reference.linear_range_test(X, Y, W, b, rates)


def loss_tolerance(step, m=64, n_x=3):
    """Each side sums m squared errors (≤ m·u relative, in its own order)
    after k = step steps whose weights each rounded n_x + 3 operations
    differently (≤ (n_x + 3)·u relative per step, added without growth while
    α keeps the descent stable): (m + (n_x + 3)·(k + 1))·u, and 4× for the
    squares and products of those errors."""
    return 4 * (m + (n_x + 3) * (step + 1)) * U


def linear_reports(beta=0.9, schedule=False):
    """Reports of the recorded losses and of their average (and, as a
    control, of the average without bias correction) against the reference
    (`schedule`: as in `run_linear`)."""
    found, expected = run_linear(beta=beta, schedule=schedule)
    count = len(found.losses)
    tolerances = [loss_tolerance(k) for k in range(count)]
    losses = _report("range test losses", found.losses, expected, tolerances)
    # The average of values each within ε relative adds ≤ 4/(1 − β) roundings.
    average_tolerances = [t + 4 / (1 - beta) * U for t in tolerances]
    average = _report("range test average", found.smoothed, reference.ewma(expected, beta), average_tolerances)
    uncorrected = _report("range test average, uncorrected", found.smoothed,
                          reference.ewma(expected, beta, bias_correction=False), average_tolerances)
    rates = _report("range test α", found.learning_rates,
                    np.array([reference.range_test_rate(LOW, HIGH, STEPS, k) for k in range(count)]),
                    [schedule_tolerance(LOW, HIGH)] * count)
    return {"losses": losses, "average": average, "uncorrected": uncorrected, "rates": rates}


def _report(name, got, want, tolerances):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return Report(name, "float64", [math.inf], [math.inf], [0.0], note=f"{got.shape} values, expected {want.shape}")
    errors = np.abs(got - want)
    return Report(name, "float64", list(errors), list(errors / np.abs(want)), list(tolerances))
