"""The learning-rate range test and the batch-size sweep
(`keras_optims.tuning`): their numbers against the hand-derived reference,
every stop reason, the suggestion where the answer is known, the model left
bit for bit as it was (also after an interrupt), and bad input."""

import math

import keras
import numpy as np
import pytest

import keras_optims
from keras_optims.tuning import (
    LearningRateRangeTest,
    RangeTestSchedule,
    find_learning_rate,
    sweep_batch_size,
)
from keras_optims.tuning import range_test as range_test_module
from keras_optims.tuning.snapshot import optimizers_of
from keras_optims.verification import range_test, reference
from keras_optims.verification.training import ExactDense, floatx


# --- numbers against the reference -------------------------------------------------------------


@pytest.mark.parametrize("schedule", [False, True], ids=["alpha a number", "alpha a schedule"])
def test_alpha_losses_and_average_match_the_reference_step_by_step(schedule):
    # A number: α is set between steps (under JAX, and for a schedule, the
    # range test's own schedule is swapped in): both must give the same steps.
    reports = range_test.linear_reports(schedule=schedule)
    for name in ("rates", "losses", "average"):
        report = reports[name]
        assert report.steps == 40, name
        assert report.passed, (name, report.max_rel_errors, report.tolerances)
    # The checker can fail: the uncorrected average is caught at step 1.
    assert not reports["uncorrected"].passed


def test_schedule_gives_the_formula_before_through_and_past_the_test():
    good, late = range_test.schedule_rows_data(steps=30, low=1e-4, high=3.0, start=4)
    assert good.passed and good.steps == 30 + 4 + 3
    assert not late.passed


def test_learning_rates_are_geometric_from_min_to_max():
    found, _ = range_test.run_linear(steps=12, low=1e-3, high=0.5)
    # By hand: ln α is evenly spaced from ln 1e-3 to ln 0.5 over 12 steps.
    expected = np.exp(np.linspace(math.log(1e-3), math.log(0.5), 12))
    np.testing.assert_allclose(found.learning_rates, expected, rtol=1e-14)
    assert found.learning_rates[0] == 1e-3 and found.stopped == "steps"


# --- stop reasons ------------------------------------------------------------------------------


def test_diverged_stops_once_the_average_passes_stop_factor_times_its_lowest():
    found, expected = range_test.run_linear(steps=60, low=1e-3, high=100.0)
    assert found.stopped == "diverged"
    count = len(found.losses)
    assert count < 60
    np.testing.assert_allclose(found.losses, expected, rtol=1e-9)
    smoothed = reference.ewma(expected, 0.9)
    # By hand: the first step whose average exceeds 4 × the lowest so far.
    first = next(k for k in range(len(smoothed)) if smoothed[k] > 4 * np.min(smoothed[: k + 1]))
    assert count == first + 1


def test_not_finite_stops_at_the_first_loss_that_is_not_finite():
    # α up to 1e200 on a stable-below-1 problem: the loss overflows to inf
    # long before the average could pass 1e300 × its lowest.
    found, _ = range_test.run_linear(steps=200, low=1e-3, high=1e200, stop_factor=1e300)
    assert found.stopped == "not finite"
    assert not math.isfinite(found.losses[-1]) and np.all(np.isfinite(found.losses[:-1]))


def _linear_model(dtype="float32"):
    model = keras.Sequential([keras.Input((2,), dtype=dtype), keras.layers.Dense(1, dtype=dtype)])
    model.compile(optimizer=keras_optims.GradientDescent(0.01), loss="mse")
    return model


def _data(m=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, 2)).astype("float32")
    return x, (x @ np.array([[2.0], [-1.0]], "float32") + 0.5).astype("float32")


def test_data_exhausted_when_a_generator_runs_out_before_the_steps():
    x, y = _data()
    batches = ((x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16))  # 4 batches
    found = find_learning_rate(_linear_model(), batches, steps=20, max_learning_rate=1e-3, verbose=0)
    assert found.stopped == "data exhausted" and len(found.losses) == 4


class _Batches(keras.utils.PyDataset):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return math.ceil(len(self.x) / self.size)

    def __getitem__(self, index):
        return self.x[index * self.size : (index + 1) * self.size], self.y[index * self.size : (index + 1) * self.size]


def test_a_pydataset_is_read_again_until_the_steps_are_taken():
    x, y = _data()
    found = find_learning_rate(_linear_model(), _Batches(x, y, 16), steps=10, max_learning_rate=0.01, verbose=0)
    assert found.stopped == "steps" and len(found.losses) == 10


# --- the suggestion ----------------------------------------------------------------------------


@pytest.mark.parametrize("c", [2.0, 40.0])
def test_suggestion_is_stable_on_a_quadratic_and_training_at_it_converges(c):
    # J(w, b) = (1/m)·Σ (w·x + b − y)² with x = ±a (mean 0): its Hessian is
    # diag(2a², 2), so with a² = c/2 the largest curvature is c and gradient
    # descent is stable exactly below α = 2/c. With y = 3x and b = 0 at the
    # start, b's gradient (2/m)·Σ(w·x + b − y) stays 0: only w moves, along
    # the curvature c.
    a = math.sqrt(c / 2)
    x = np.where(np.arange(64) % 2 == 0, a, -a)[:, None]
    y = 3 * x
    with floatx("float64"):
        model = keras.Sequential([keras.Input((1,), dtype="float64"),
                                  ExactDense(1, dtype="float64", kernel_initializer="zeros")])
        model.compile(optimizer=keras_optims.GradientDescent(), loss=range_test.SquaredError())
        found = find_learning_rate(model, x, y, batch_size=64, verbose=0)
        assert found.suggestion is not None, found.reason
        assert 0 < found.suggestion < 2 / c
        model.compile(optimizer=keras_optims.GradientDescent(found.suggestion), loss=range_test.SquaredError())
        start = model.evaluate(x, y, batch_size=64, verbose=0)
        model.fit(x, y, batch_size=64, epochs=200, verbose=0)
        assert model.evaluate(x, y, batch_size=64, verbose=0) < 1e-6 * start


def test_no_suggestion_when_the_loss_never_falls():
    # Started at the minimum of J(w) = (1/m)·Σ(w·x − 3x)²: the gradient is 0,
    # every step's loss is 0, and no α can make it fall.
    x = np.linspace(-1.0, 1.0, 32)[:, None]
    with floatx("float64"):
        model = keras.Sequential([keras.Input((1,), dtype="float64"), ExactDense(
            1, dtype="float64", kernel_initializer=keras.initializers.Constant(3))])
        model.compile(optimizer=keras_optims.GradientDescent(), loss=range_test.SquaredError())
        found = find_learning_rate(model, x, 3 * x, batch_size=32, steps=20, verbose=0)
    assert found.stopped == "steps" and np.all(found.losses == 0)
    assert found.suggestion is None and "never fell" in found.reason


# --- nothing lost ------------------------------------------------------------------------------


def _model(optimizer, seed=3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dropout(0.3), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def _state(model):
    variables = model.variables + [v for o in optimizers_of(model) for v in o.variables] + model.metrics_variables
    return [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]


def _assert_same(before, after):
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


OPTIMIZERS = {
    "ours": lambda: keras_optims.Adam(0.01),
    "keras": lambda: keras.optimizers.Adam(0.01),
    "schedule": lambda: keras_optims.Momentum(keras_optims.schedules.ExponentialEpochDecay(0.05, 0.9, steps_per_epoch=4)),
    "loss scale": lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01)),
}


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_after_training_the_test_leaves_everything_and_training_goes_on_as_without_it(kind):
    x, y = _data(128)
    model = _model(OPTIMIZERS[kind]())
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    before, config = _state(model), model.optimizer.get_config()
    learning_rate = optimizers_of(model)[-1]._learning_rate
    history = model.history
    find_learning_rate(model, x, y, steps=30, verbose=0)
    _assert_same(before, _state(model))
    assert model.optimizer.get_config() == config
    assert optimizers_of(model)[-1]._learning_rate is learning_rate and model.history is history
    after = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history["loss"]

    twin = _model(OPTIMIZERS[kind]())
    twin.fit(x, y, batch_size=32, epochs=2, verbose=0)
    untouched = twin.fit(x, y, batch_size=32, epochs=2, verbose=0).history["loss"]
    assert after == untouched
    _assert_same(_state(twin), _state(model))


def _fresh(seed=3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.RMSProp(0.01), loss="mse", metrics=["mae"])
    return model


def test_a_fresh_model_is_left_as_built():
    # Never trained: the test builds the optimizer (as a first step would)
    # and the metrics, and leaves every variable at its first value: the
    # twin's, built by Keras for a first step.
    x, y = _data(128)
    model = _fresh()
    find_learning_rate(model, x, y, steps=10, verbose=0)
    twin = _fresh()
    twin.optimizer.build(twin.trainable_variables)
    twin.evaluate(x, y, verbose=0)  # builds the compiled metrics
    twin.reset_metrics()
    _assert_same(_state(twin), _state(model))


def test_an_interrupt_mid_test_leaves_everything(monkeypatch):
    # Ctrl-C arrives as KeyboardInterrupt in Python code between two steps:
    # here after the fifth step's callback.
    record = LearningRateRangeTest.on_train_batch_end

    def interrupted(self, batch, logs=None):
        record(self, batch, logs)
        if len(self._losses) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(LearningRateRangeTest, "on_train_batch_end", interrupted)
    x, y = _data(128)
    model = _model(keras_optims.Adam(0.01))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    before, history = _state(model), model.history
    with pytest.raises(KeyboardInterrupt):
        find_learning_rate(model, x, y, steps=30, verbose=0)
    _assert_same(before, _state(model))
    assert model.history is history and isinstance(optimizers_of(model)[-1]._learning_rate, keras.Variable)


def test_the_callback_in_a_users_own_fit():
    x, y = _data(128)
    model = _model(keras_optims.Momentum(0.01))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    before = _state(model)
    test = LearningRateRangeTest(1e-4, 1.0, steps=12)
    model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[test])
    assert test.result.stopped in ("steps", "diverged") and len(test.result.losses) <= 12
    _assert_same(before, _state(model))


def test_schedule_round_trips_through_keras_serialization():
    schedule = RangeTestSchedule(1e-6, 2.0, 50, start_step=7)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert again.get_config() == schedule.get_config() == {
        "min_learning_rate": 1e-6, "max_learning_rate": 2.0, "steps": 50, "start_step": 7}


# --- the batch-size sweep ----------------------------------------------------------------------


def test_sweep_starts_every_size_from_the_same_state_and_leaves_the_model():
    X, Y, W, b = range_test.linear_problem(seed=1, m=64)
    with floatx("float64"):
        model = keras.Sequential([keras.Input((3,), dtype="float64"), ExactDense(1, dtype="float64")])
        model.set_weights([W.T, np.array([b])])
        model.compile(optimizer=keras_optims.GradientDescent(0.1), loss=range_test.SquaredError())
        before = _state(model)
        sweep = sweep_batch_size(model, X.T, Y.T, max_epochs=3, verbose=0)
        _assert_same(before, _state(model))
    assert [row.batch_size for row in sweep.rows] == [32, 64]  # powers of two from 32 below m, and m
    assert [row.iterations_per_epoch for row in sweep.rows] == [2, 1]
    # B = m is batch gradient descent: its whole-data losses after epochs
    # 1, 2, 3 are the reference's losses before steps 2, 3, 4 from the start.
    full = sweep.rows[-1]
    expected = reference.linear_range_test(X, Y, W, b, [0.1] * 4)[1:]
    # Keras 3.15 logs val_loss in float32 under JAX and PyTorch even for a
    # float64 model: one float32 rounding, 2⁻²⁴ relative (float64 math
    # before it agrees to ~1e-15).
    np.testing.assert_allclose(full.losses, expected, rtol=2.0**-23)
    # The target is the lowest loss every size reached, and both reached it.
    assert sweep.target_from == "lowest common"
    assert sweep.target_loss == max(min(row.losses) for row in sweep.rows)
    assert all(row.epochs_to_target is not None and row.seconds_to_target > 0 for row in sweep.rows)
    assert sweep.fastest in sweep.rows and sweep.largest_that_fits == 64


def test_sweep_stops_a_size_at_the_target():
    x, y = _data(64)
    model = _linear_model()
    sweep = sweep_batch_size(model, x, y, batch_sizes=[16], target_loss=1e9, max_epochs=5, verbose=0)
    assert sweep.rows[0].epochs_to_target == 1 and len(sweep.rows[0].losses) == 1


def test_sweep_reports_out_of_memory_and_goes_on(monkeypatch):
    x, y = _data(64)
    model = _linear_model()
    fit = model.fit

    class ResourceExhaustedError(RuntimeError):
        pass

    def fit_or_run_out(*args, batch_size=None, **kwargs):
        if batch_size == 32:
            raise ResourceExhaustedError("OOM when allocating tensor")
        return fit(*args, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(model, "fit", fit_or_run_out)
    sweep = sweep_batch_size(model, x, y, batch_sizes=[16, 32], max_epochs=2, verbose=0)
    ran_out = sweep.rows[1]
    assert not ran_out.fits and "OOM" in ran_out.error and ran_out.seconds_to_target is None
    assert sweep.rows[0].fits and sweep.largest_that_fits == 16


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, error, words",
    [
        ({"min_learning_rate": 1.0, "max_learning_rate": 1.0}, ValueError, "min_learning_rate"),
        ({"min_learning_rate": 2.0, "max_learning_rate": 1.0}, ValueError, "smaller than `max_learning_rate`"),
        ({"steps": 1}, ValueError, "steps"),
        ({"min_learning_rate": 0.0}, ValueError, "min_learning_rate"),
        ({"max_learning_rate": -1.0}, ValueError, "max_learning_rate"),
        ({"max_learning_rate": math.inf}, ValueError, "max_learning_rate"),
        ({"min_learning_rate": math.nan}, ValueError, "min_learning_rate"),
        ({"beta": 1.0}, ValueError, "beta"),
        ({"beta": -0.1}, ValueError, "beta"),
        ({"stop_factor": 1.0}, ValueError, "stop_factor"),
        ({"steps": 2.5}, TypeError, "steps"),
    ],
)
def test_bad_arguments_are_rejected_by_name(arguments, error, words):
    x, y = _data()
    with pytest.raises(error, match=words):
        find_learning_rate(_linear_model(), x, y, **arguments)
    with pytest.raises(error, match=words):
        LearningRateRangeTest(**arguments)


def test_uncompiled_model_and_empty_data_are_rejected():
    x, y = _data()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="`model` must be compiled"):
        find_learning_rate(model, x, y)
    with pytest.raises(ValueError, match="`x` holds no examples"):
        find_learning_rate(_linear_model(), x[:0], y[:0])
    with pytest.raises(TypeError, match="`model` must be a keras.Model"):
        find_learning_rate("model", x, y)
    with pytest.raises(ValueError, match="`batch_size` is for arrays"):
        find_learning_rate(_linear_model(), _Batches(x, y, 16), batch_size=16)
    with pytest.raises(ValueError, match="`x` holds no examples"):
        sweep_batch_size(_linear_model(), x[:0], y[:0])
    with pytest.raises(ValueError, match="at most m = 64"):
        sweep_batch_size(_linear_model(), x, y, batch_sizes=[128])
    with pytest.raises(TypeError, match="`x` must be arrays"):
        sweep_batch_size(_linear_model(), _Batches(x, y, 16), None)
    with pytest.raises(ValueError, match="max_epochs"):
        sweep_batch_size(_linear_model(), x, y, max_epochs=0)


def _generator_states():
    """Every global generator's state, comparable with ==."""
    import random

    states = {"python": random.getstate(), "numpy": np.random.get_state()[1].tolist()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        states["tensorflow"] = tf.random.get_global_generator().state.numpy().tolist()
    if keras.backend.backend() == "torch":
        import torch

        states["torch"] = torch.get_rng_state().tolist()
    return states


def test_random_state_drawn_during_the_test_is_put_back(monkeypatch):
    # Whatever the steps draw from the global generators (a user's callback,
    # an augmentation layer) is undone: Python's, NumPy's, and the backend's.
    import random

    draws = [random.random, np.random.random]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        draws.append(lambda: tf.random.get_global_generator().normal([]))
    if keras.backend.backend() == "torch":
        import torch

        draws.append(lambda: torch.rand(()))
    record = LearningRateRangeTest.on_train_batch_end

    def drawing(self, batch, logs=None):
        record(self, batch, logs)
        for draw in draws:
            draw()

    x, y = _data(128)
    model = _linear_model()
    for draw in draws:
        draw()  # every generator exists before the test
    before = _generator_states()
    monkeypatch.setattr(LearningRateRangeTest, "on_train_batch_end", drawing)
    find_learning_rate(model, x, y, steps=6, max_learning_rate=1e-3, verbose=0)
    assert _generator_states() == before


# --- tf_keras ----------------------------------------------------------------------------------


def _tf_keras_linear(optimizer):
    import tf_keras

    X, Y, W, b = range_test.linear_problem(0)
    model = tf_keras.Sequential([tf_keras.layers.Dense(1, input_shape=(3,), dtype="float64")])
    model.set_weights([W.T, np.array([b])])
    model.compile(optimizer=optimizer, loss="mse")
    return model, X, Y, W, b


@pytest.mark.tensorflow
@pytest.mark.parametrize("schedule", [False, True], ids=["alpha a number", "alpha a schedule"])
def test_tf_keras_range_test_matches_the_reference(schedule):
    from keras_optims.tf_keras import ExponentialEpochDecay, GradientDescent

    import tf_keras

    own = ExponentialEpochDecay(0.1, 0.5, steps_per_epoch=1) if schedule else 0.01
    floatx = tf_keras.backend.floatx()
    tf_keras.backend.set_floatx("float64")  # the loss tracker's sums in float64 too
    try:
        model, X, Y, W, b = _tf_keras_linear(GradientDescent(own))
        before = [v.numpy().copy() for v in model.variables + list(model.optimizer.variables)]
        found = find_learning_rate(model, X.T, Y.T, batch_size=64, min_learning_rate=range_test.LOW,
                                   max_learning_rate=range_test.HIGH, steps=range_test.STEPS, beta=0.9, verbose=0)
    finally:
        tf_keras.backend.set_floatx(floatx)
    rates = [reference.range_test_rate(range_test.LOW, range_test.HIGH, range_test.STEPS, k)
             for k in range(len(found.losses))]
    expected = reference.linear_range_test(X, Y, W, b, rates)
    assert found.stopped == "steps" and len(found.losses) == range_test.STEPS
    for k, (got, want) in enumerate(zip(found.losses, expected)):
        # tf_keras's mse is a mean in float64: the same bound as Keras 3's.
        assert abs(got - want) <= range_test.loss_tolerance(k) * abs(want), k
    _assert_same(before, [v.numpy() for v in model.variables + list(model.optimizer.variables)])


@pytest.mark.tensorflow
def test_tf_keras_model_is_left_as_it_was_and_trains_as_a_twin():
    import tf_keras

    from keras_optims.tf_keras import Adam, LearningRateRangeTest as TFKerasRangeTest

    # No dropout: tf_keras's dropout draws from stateful random ops whose
    # state lives in the compiled step, not in variables (the guide says so).
    def twin():
        tf_keras.utils.set_random_seed(3)
        model = tf_keras.Sequential([tf_keras.layers.Dense(8, activation="relu", input_shape=(2,)),
                                     tf_keras.layers.BatchNormalization(), tf_keras.layers.Dense(1)])
        model.compile(optimizer=Adam(0.01), loss="mse", metrics=["mae"])
        return model

    x, y = _data(128)
    model = twin()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    state = lambda m: [v.numpy().copy() for v in m.variables + list(m.optimizer.variables)  # noqa: E731
                       + [m.optimizer._learning_rate] + [w for metric in m.metrics for w in metric.variables]]
    before = state(model)
    found = find_learning_rate(model, x, y, steps=20, verbose=0)
    assert len(found.losses) >= 1
    _assert_same(before, state(model))
    after = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history["loss"]
    other = twin()
    other.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert after == other.fit(x, y, batch_size=32, epochs=2, verbose=0).history["loss"]
    # The callback in a tf_keras fit of one's own.
    test = TFKerasRangeTest(1e-4, 1.0, steps=8)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[test])
    assert len(test.result.losses) <= 8


@pytest.mark.once
def test_suggestion_is_the_steepest_fall_not_a_blip_of_the_first_values():
    # A made curve: flat at 2.0 with a one-step blip of 0.3 at step 12 (the
    # jumpy start of an average of few values), then the real fall, a
    # logistic from 2.0 to 0.2 around step 60 (slope at most 1.8/(4·5) per
    # step), then the rise. Over a window of ±5 steps the blip moves 0.3, the
    # fall about 0.83: the suggestion is in the fall.
    k = np.arange(100)
    rates = 1e-7 * (1e8) ** (k / 99)
    smoothed = 0.2 + 1.8 / (1 + np.exp((k - 60) / 5)) + np.where(k > 85, (k - 85) * 0.3, 0.0)
    smoothed[12] -= 0.3
    suggestion, reason = range_test_module.suggest(rates, smoothed)
    assert rates[50] <= suggestion <= rates[70], reason


@pytest.mark.tensorflow
def test_a_tf_data_dataset_is_read_again_until_the_steps_are_taken():
    import tensorflow as tf

    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 4 batches an epoch
    found = find_learning_rate(_linear_model(), dataset, steps=10, max_learning_rate=0.01, verbose=0)
    assert found.stopped == "steps" and len(found.losses) == 10


def test_plot_draws_both_curves_on_a_log_axis_with_the_suggestion():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    found, _ = range_test.run_linear()
    ax = found.plot()
    assert ax.get_xscale() == "log" and found.suggestion is not None
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["loss of each mini-batch"].get_ydata(), found.losses)
    np.testing.assert_array_equal(lines["bias-corrected average, β = 0.9"].get_ydata(), found.smoothed)
    assert lines[f"suggestion α = {found.suggestion:.3g}"].get_xdata()[0] == found.suggestion
    sweep = sweep_batch_size(_linear_model(), *_data(64), max_epochs=2, verbose=0)
    ax = sweep.plot()
    assert {line.get_label() for line in ax.get_lines()} >= {"B = 32", "B = 64 = m"}
