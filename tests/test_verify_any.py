"""Verification for any optimizer (issue 16): `check` against a user's NumPy
step, `testing.assert_optimizer_matches`, and `verify` on Keras's built-ins.
Runs on every backend (float64 under JAX through JAX_ENABLE_X64, conftest)."""

import re
import unittest

import keras
import numpy as np
import pytest
from keras import ops

from keras_optims.verification import Report, check, verify
from keras_optims.verification.testing import assert_optimizer_matches

BACKEND = keras.backend.backend()
ALPHA = 0.0625  # exact in float32, the dtype of Keras's learning-rate variable


# Two hand-written Keras optimizers, as a user would write them.

class Adagrad(keras.optimizers.Optimizer):
    """G ← G + dW²;  W ← W − α·dW / (√G + ε)"""

    def __init__(self, learning_rate=ALPHA, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.accumulators = self.add_optimizer_variables(variables, "accumulator")

    def update_step(self, gradient, variable, learning_rate):
        G = self.accumulators[self._get_variable_index(variable)]
        self.assign_add(G, ops.square(gradient))
        lr = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, lr * gradient / (ops.sqrt(G) + self.epsilon))


class HeavyBall(keras.optimizers.Optimizer):
    """v ← β·v + dW;  W ← W − α·v  (Polyak's momentum, no (1 − β))"""

    def __init__(self, learning_rate=ALPHA, beta=0.875, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta = beta

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(v, v * self.beta + gradient)
        self.assign_sub(variable, ops.cast(learning_rate, variable.dtype) * v)


def adagrad_step(W, dW, state, t, eps=1e-7, inside=False, grow=lambda dW: dW**2):
    G = state["G"] + grow(dW)
    return W - ALPHA * dW / (np.sqrt(G + eps) if inside else np.sqrt(G) + eps), {"G": G}


def heavy_ball_step(W, dW, state, t, beta=0.875, late=None):
    if late is not None and t >= late:  # a mistake that first shows at step `late`
        beta = 0.75
    v = beta * state["v"] + dW
    return W - ALPHA * v, {"v": v}


def accumulator(optimizer, variable):
    return optimizer.accumulators[optimizer._get_variable_index(variable)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("slots", [{"G": "accumulators"}, {"G": accumulator}], ids=["attribute", "callable"])
def test_a_hand_written_adagrad_matches_its_reference(slots, dtype):
    report = check(Adagrad(), adagrad_step, slots=slots, dtype=dtype)
    assert isinstance(report, Report) and report.passed, report
    assert report.steps == 100 and report.first_failure is None


def test_a_hand_written_heavy_ball_matches_its_reference():
    report = check(HeavyBall(), heavy_ball_step, slots={"v": "_velocities"})
    assert report.passed, report


@pytest.mark.parametrize("wrong, step, tensor", [
    (lambda *a: adagrad_step(*a, inside=True), 1, "W"),  # ε inside the root: W differs, G does not
    (lambda *a: adagrad_step(*a, grow=np.abs), 1, "G"),  # |dW| for dW²
    (lambda *a: adagrad_step(*a, eps=1e-8), 1, "W"),
])
def test_wrong_adagrad_references_are_caught_where_they_first_differ(wrong, step, tensor):
    report = check(Adagrad(), wrong, slots={"G": "accumulators"})
    assert not report.passed
    assert (report.first_failure.step, report.first_failure.tensor) == (step, tensor), report


@pytest.mark.parametrize("late", [1, 2, 5])
def test_a_wrong_heavy_ball_reference_is_caught_at_the_step_it_first_differs(late):
    """β enters v at the step after the first (v starts at 0), so β' from
    step `late` on first changes v at step max(late, 2)."""
    report = check(HeavyBall(), lambda *a: heavy_ball_step(*a, late=late), slots={"v": "_velocities"})
    failure = report.first_failure
    assert (failure.step, failure.tensor) == (max(late, 2), "v"), report
    assert failure.actual.shape == failure.desired.shape and failure.rel_error > failure.tolerance
    assert f"first failure at step {failure.step}, v of variable" in repr(report)
    assert re.match(r"Report\('heavy_ball\w*', FAIL, steps=100, dtype=float64", repr(report))


def test_a_reference_that_takes_lr_is_given_the_learning_rate_the_optimizer_holds():
    """At the course's α = 0.1 a plain Keras subclass holds 0.10000000149…
    (a float32 variable): a reference written with 0.1 differs from step 1
    in float64, one that takes `lr` is given what the optimizer holds, and
    passes; under a schedule, α for step t is the schedule's at t − 1."""

    def with_literal(W, dW, state, t):
        G = state["G"] + dW**2
        return W - 0.1 * dW / (np.sqrt(G) + 1e-7), {"G": G}

    given = []

    def with_lr(W, dW, state, t, lr):
        given.append((t, lr))
        G = state["G"] + dW**2
        return W - lr * dW / (np.sqrt(G) + 1e-7), {"G": G}

    wrong = check(Adagrad(0.1), with_literal, slots={"G": "accumulators"}, steps=5)
    assert not wrong.passed and wrong.first_failure.step == 1
    assert check(Adagrad(0.1), with_lr, slots={"G": "accumulators"}, steps=5).passed
    assert {lr for _, lr in given} == {float(np.float32(0.1))} and {t for t, _ in given} == set(range(1, 6))

    schedule = keras.optimizers.schedules.ExponentialDecay(ALPHA, decay_steps=1, decay_rate=0.5)
    given.clear()
    assert check(Adagrad(schedule), with_lr, slots={"G": "accumulators"}, steps=4).passed
    assert sorted(set(given)) == [(t, ALPHA * 0.5 ** (t - 1)) for t in range(1, 5)]


def test_init_gives_the_reference_its_starting_state():
    """Adagrad whose accumulator starts at 0.1 (Keras's Adagrad default)."""

    class Started(Adagrad):
        def build(self, variables):
            if self.built:
                return
            keras.optimizers.Optimizer.build(self, variables)
            self.accumulators = self.add_optimizer_variables(
                variables, "accumulator", initializer=keras.initializers.Constant(0.125))

    init = lambda W: {"G": np.full_like(W, 0.125)}  # noqa: E731
    assert check(Started(), adagrad_step, slots={"G": "accumulators"}, init=init).passed
    assert check(Started(), adagrad_step, slots={"G": "accumulators"}).first_failure.step == 1


def test_assert_optimizer_matches_reads_like_numpy_testing():
    assert_optimizer_matches(HeavyBall(), heavy_ball_step, slots={"v": "_velocities"}, steps=10)
    with pytest.raises(AssertionError) as raised:
        assert_optimizer_matches(HeavyBall(), lambda *a: heavy_ball_step(*a, late=3),
                                 slots={"v": "_velocities"}, steps=10)
    message = str(raised.value)
    assert re.match(r"Optimizer 'heavy_ball\w*' does not match the reference \(dtype float64, tolerance 1e-12", message)
    assert re.search(r"\nFirst difference at step 3, v of variable \d \(shape \(", message)
    counted, total = map(int, re.search(r"Mismatched elements: (\d+) / (\d+)", message).groups())
    assert 1 <= counted <= total
    for part in ("Mismatched elements: ", "Max absolute difference: ", "Max relative difference (normwise): ",
                 "\n ACTUAL: [", "\n DESIRED: ["):
        assert part in message


def test_assert_optimizer_matches_fails_a_unittest_case():
    class Case(unittest.TestCase):
        def test_right(self):
            assert_optimizer_matches(Adagrad(), adagrad_step, slots={"G": "accumulators"}, steps=5)

        def test_wrong(self):
            assert_optimizer_matches(Adagrad(), lambda *a: adagrad_step(*a, inside=True),
                                     slots={"G": "accumulators"}, steps=5)

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    assert result.testsRun == 2 and not result.errors
    assert [test.id().rsplit(".", 1)[1] for test, _ in result.failures] == ["test_wrong"]


def test_check_rejects_bad_arguments_clearly():
    with pytest.raises(TypeError, match="Argument `optimizer` must be a Keras optimizer. Received: optimizer=3"):
        check(3, adagrad_step, slots={})
    built = Adagrad()
    built.build([keras.Variable(np.zeros(2))])
    with pytest.raises(ValueError, match="must be a new optimizer"):
        check(built, adagrad_step, slots={"G": "accumulators"})
    with pytest.raises(TypeError, match="Argument `slots` must be a dict"):
        check(Adagrad(), adagrad_step, slots=["G"])
    with pytest.raises(KeyError, match="the reference's state at step 1 has no 'G' for variable 0"):
        check(Adagrad(), lambda W, dW, state, t: (W, {}), slots={"G": "accumulators"})
    with pytest.raises(TypeError, match="must return .W, state."):
        check(Adagrad(), lambda W, dW, state, t: W, slots={"G": "accumulators"})
    with pytest.raises(ValueError, match="Received: steps=0"):
        check(Adagrad(), adagrad_step, slots={"G": "accumulators"}, steps=0)
    with pytest.raises(ValueError, match="Argument `dtype` must be one of"):
        check(Adagrad(), adagrad_step, slots={"G": "accumulators"}, dtype="float16")


# Keras's built-ins against the formulas Keras documents.

EXACT = dict(learning_rate=2.0**-5)  # hyperparameters exact in float32 (see below)
BUILTINS = {
    "SGD": (lambda **k: keras.optimizers.SGD(**k), {}, "Keras SGD: W ← W − α·dW"),
    "SGD momentum": (lambda **k: keras.optimizers.SGD(**k), {"momentum": 0.875}, "(α inside the momentum buffer)"),
    "SGD nesterov": (lambda **k: keras.optimizers.SGD(nesterov=True, **k), {"momentum": 0.875},
                     "Keras SGD(nesterov=True)"),
    "RMSprop": (lambda **k: keras.optimizers.RMSprop(**k), {"rho": 0.875}, "(ε inside the root)"),
    "Adam": (lambda **k: keras.optimizers.Adam(**k), {"beta_1": 0.875, "beta_2": 1 - 2.0**-10}, "(epsilon hat)"),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", BUILTINS)
def test_verify_checks_keras_builtins_against_their_documented_formulas(name, dtype):
    make, exact, formula = BUILTINS[name]
    report = verify(make(**EXACT, **exact), dtype=dtype)
    assert report.passed, report
    assert formula in report.note


@pytest.mark.parametrize("name", BUILTINS)
def test_verify_with_keras_default_hyperparameters(name):
    """Keras 3.15 casts β₁ and the SGD momentum with ops.cast(0.9,
    "float64"), which on TensorFlow rounds through float32: float64 runs
    there differ from the formula from the first step where the rounded
    value enters: step 1 for Adam (1 − β₁ᵗ) and nesterov (μ·m in W), step 2
    for plain momentum (m starts at 0). Everything else matches it."""
    make, exact, _ = BUILTINS[name]
    defaults = {k: 0.9 for k in exact if k in ("momentum",)}
    report = verify(make(**defaults))
    first = {"Adam": 1, "SGD nesterov": 1, "SGD momentum": 2}
    if BACKEND == "tensorflow" and name in first:
        assert not report.passed
        assert report.first_failure.step == first[name], report
    else:
        assert report.passed, report
    assert verify(make(**defaults), dtype="float32").passed


@pytest.mark.parametrize("make, received", [
    (lambda: keras.optimizers.RMSprop(momentum=0.5), "momentum=0.5"),
    (lambda: keras.optimizers.RMSprop(centered=True), "centered=True"),
    (lambda: keras.optimizers.Adam(amsgrad=True), "amsgrad=True"),
    (lambda: keras.optimizers.SGD(weight_decay=0.01), "weight_decay=0.01"),
    (lambda: keras.optimizers.Adam(clipnorm=1.0), "clipnorm=1.0"),
])
def test_verify_refuses_keras_options_outside_the_formula(make, received):
    with pytest.raises(ValueError, match=f"verify.. checks keras.optimizers.SGD .*Received: {received}"):
        verify(make())


def test_verify_names_what_it_supports_for_anything_else():
    with pytest.raises(TypeError, match="no reference for .*Adagrad.*keras_optims.Adam.*keras.optimizers.SGD.*check"):
        verify(keras.optimizers.Adagrad())
    with pytest.raises(TypeError, match="no reference for .*HeavyBall"):
        verify(HeavyBall())
