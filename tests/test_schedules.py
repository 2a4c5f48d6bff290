"""Per-epoch learning-rate schedules: values by hand, Keras equivalences,
every execution mode, validation and serialization."""

import math

import numpy as np
import pytest

import keras
import keras_optims
from keras_optims import schedules
from keras_optims.verification import reference

SPE = 7  # steps per epoch: not a divisor of anything below, to catch off-by-one epochs
STEPS = range(0, 40 * SPE + 3)

# (schedule, value at epoch e computed by hand in Python floats)
SCHEDULES = {
    "inverse-time": (
        lambda: schedules.InverseTimeEpochDecay(0.2, decay_rate=0.5, steps_per_epoch=SPE),
        lambda e: 0.2 / (1 + 0.5 * e),
    ),
    "inverse-time-interval": (
        lambda: schedules.InverseTimeEpochDecay(0.2, 0.5, SPE, time_interval=3),
        lambda e: 0.2 / (1 + 0.5 * (e // 3)),
    ),
    "exponential": (
        lambda: schedules.ExponentialEpochDecay(0.2, rate=0.95, steps_per_epoch=SPE),
        lambda e: 0.2 * 0.95**e,
    ),
    "inverse-sqrt": (
        lambda: schedules.InverseSqrtEpochDecay(0.2, k=0.5, steps_per_epoch=SPE),
        lambda e: 0.2 * 0.5 / math.sqrt(e + 1),
    ),
    "staircase": (
        lambda: schedules.EpochStaircase([3, 10, 11], [0.3, 0.1, 0.05, 0.01], steps_per_epoch=SPE),
        lambda e: 0.3 if e < 3 else 0.1 if e < 10 else 0.05 if e < 11 else 0.01,
    ),
    # The lecture counts epochs from 1: the first epoch is already decayed.
    "inverse-time-lecture": (
        lambda: schedules.InverseTimeEpochDecay(0.2, 0.5, SPE, epoch_numbering="lecture"),
        lambda e: 0.2 / (1 + 0.5 * (e + 1)),
    ),
    "exponential-lecture": (
        lambda: schedules.ExponentialEpochDecay(0.2, 0.95, SPE, epoch_numbering="lecture"),
        lambda e: 0.2 * 0.95 ** (e + 1),
    ),
    # The assignment: epochs 0 and 1 at α₀, then one epoch behind ours.
    "inverse-time-assignment": (
        lambda: schedules.InverseTimeEpochDecay(0.2, 0.5, SPE, time_interval=3, epoch_numbering="assignment"),
        lambda e: 0.2 / (1 + 0.5 * (max(e - 1, 0) // 3)),
    ),
    "staircase-assignment": (
        lambda: schedules.EpochStaircase([3, 10], [0.3, 0.1, 0.05], SPE, epoch_numbering="assignment"),
        lambda e: 0.3 if e < 4 else 0.1 if e < 11 else 0.05,
    ),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_values_by_hand_at_every_step(name):
    make, by_hand = SCHEDULES[name]
    schedule = make()
    got = np.array([float(schedule(step)) for step in STEPS])
    expected = np.array([by_hand(step // SPE) for step in STEPS])
    # Both sides evaluate the same few float64 operations: ≤ 4 roundings.
    np.testing.assert_allclose(got, expected, rtol=4 * 2.0**-53, atol=0)
    assert keras.backend.standardize_dtype(schedule(0).dtype) == "float64"


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", SCHEDULES)
def test_eager_tf_function_and_xla_agree(name):
    import tensorflow as tf

    schedule = SCHEDULES[name][0]()
    steps = tf.constant(list(STEPS), tf.int64)
    eager = np.array([schedule(s).numpy() for s in steps])
    graph = tf.function(lambda s: tf.map_fn(schedule, s, fn_output_signature=tf.float64))
    xla = tf.function(lambda s: tf.map_fn(schedule, s, fn_output_signature=tf.float64), jit_compile=True)
    # Graph optimisations and XLA may rewrite x/√y as x·rsqrt(y): a couple of
    # roundings apart.
    np.testing.assert_allclose(graph(steps).numpy(), eager, rtol=4 * 2.0**-53, atol=0)
    np.testing.assert_allclose(xla(steps).numpy(), eager, rtol=4 * 2.0**-53, atol=0)


@pytest.mark.parametrize("name", SCHEDULES)
def test_eager_and_jax_jit_agree(name):
    """Under JAX, a schedule traced by jax.jit (as inside Keras's compiled
    train step) gives its eager values."""
    if keras.backend.backend() != "jax":
        pytest.skip("JAX backend only")
    import jax

    schedule = SCHEDULES[name][0]()
    eager = np.array([float(schedule(step)) for step in STEPS])
    compiled = np.array(jax.jit(jax.vmap(schedule))(np.array(STEPS)))
    np.testing.assert_allclose(compiled, eager, rtol=4 * 2.0**-53, atol=0)


@pytest.mark.parametrize(
    "decay, arguments, time_interval",
    [("update_lr", {}, 1), ("schedule_lr_decay", {"time_interval": 3}, 3)],
)
def test_assignment_numbering_replays_the_assignment_loop(decay, arguments, time_interval):
    """The rates the programming assignment's loop trains each epoch with
    (α₀ first, then after epoch i: decay(α₀, i, decay_rate)), its two decay
    functions included, at every step of 40 epochs; the default numbering
    and the lecture's do not give them."""
    epochs = 40
    rates = reference.assignment_rates(0.1, epochs, getattr(reference, decay), decay_rate=1.0, **arguments)
    # update_lr: α₀, α₀, α₀/2; schedule_lr_decay with T = 3: epochs 0–3 at α₀.
    assert rates[: time_interval + 2] == [0.1] * (time_interval + 1) + [0.05]
    steps = range(epochs * SPE)
    expected = [rates[step // SPE] for step in steps]

    def values(numbering):
        schedule = schedules.InverseTimeEpochDecay(0.1, 1.0, SPE, time_interval, epoch_numbering=numbering)
        return [float(schedule(step)) for step in steps]

    np.testing.assert_allclose(values("assignment"), expected, rtol=4 * 2.0**-53, atol=0)
    for other in ("zero_based", "lecture"):
        assert not np.allclose(values(other), expected, rtol=1e-6, atol=0), other


def test_lecture_numbering_is_the_lectures_formula():
    """α = α₀ / (1 + decay_rate·epoch_num), epoch_num = 1, 2, … (the
    lecture's example: α₀ = 0.2, decay_rate = 1 gives 0.1, 0.067, 0.05, 0.04)."""
    schedule = schedules.InverseTimeEpochDecay(0.2, 1.0, SPE, epoch_numbering="lecture")
    got = [float(schedule(epoch * SPE)) for epoch in range(4)]
    np.testing.assert_allclose(got, [0.1, 0.2 / 3, 0.05, 0.04], rtol=4 * 2.0**-53)


EQUIVALENT_KERAS = {
    "inverse-time-interval": lambda: keras.optimizers.schedules.InverseTimeDecay(
        0.2, decay_steps=SPE * 3, decay_rate=0.5, staircase=True
    ),
    "exponential": lambda: keras.optimizers.schedules.ExponentialDecay(
        0.2, decay_steps=SPE, decay_rate=0.95, staircase=True
    ),
    "staircase": lambda: keras.optimizers.schedules.PiecewiseConstantDecay(
        [b * SPE - 1 for b in (3, 10, 11)], [0.3, 0.1, 0.05, 0.01]
    ),
}
# What breaks each equivalence: the step-wise (not staircase) form of the
# built-ins, and Keras's "last step of a value" boundary read as our "first epoch".
BROKEN_KERAS = {
    "inverse-time-interval": lambda: keras.optimizers.schedules.InverseTimeDecay(
        0.2, decay_steps=SPE * 3, decay_rate=0.5, staircase=False
    ),
    "exponential": lambda: keras.optimizers.schedules.ExponentialDecay(0.2, SPE, 0.95, staircase=False),
    "staircase": lambda: keras.optimizers.schedules.PiecewiseConstantDecay(
        [b * SPE for b in (3, 10, 11)], [0.3, 0.1, 0.05, 0.01]
    ),
}


@pytest.mark.parametrize("name", EQUIVALENT_KERAS)
def test_keras_builtin_equivalent(name):
    ours = SCHEDULES[name][0]()
    got = np.array([float(ours(s)) for s in STEPS])
    # The built-ins compute in float32: a few roundings of u = 2⁻²⁴ each, and
    # ExponentialDecay raises the float32-rounded rate (relative error ≤ u)
    # to the power e, which multiplies that error by e (≤ 40 here).
    tolerance = (8 + max(STEPS) // SPE) * 2.0**-24
    np.testing.assert_allclose([float(EQUIVALENT_KERAS[name]()(s)) for s in STEPS], got, rtol=tolerance)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose([float(BROKEN_KERAS[name]()(s)) for s in STEPS], got, rtol=tolerance)


@pytest.mark.parametrize(
    "optimizer",
    [lambda lr: keras_optims.GradientDescent(lr), lambda lr: keras.optimizers.SGD(lr)],
    ids=["ours", "keras"],
)
def test_used_by_optimizers_in_fit_per_epoch(optimizer):
    """In fit, every step of epoch e uses the epoch-e value, with ours and Keras's optimizers."""
    X = np.random.default_rng(0).standard_normal((5 * 8, 3)).astype("float32")
    y = X.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    schedule = schedules.InverseTimeEpochDecay(0.05, 0.5, steps_per_epoch=5, time_interval=2)
    model.compile(optimizer=optimizer(schedule), loss="mse")
    seen = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs["learning_rate"]))
    logger = keras_optims.callbacks.LearningRateLogger(per_batch=True)
    model.fit(X, y, batch_size=8, epochs=6, shuffle=False, verbose=0, callbacks=[logger, record])
    expected = [0.05 / (1 + 0.5 * ((step // 5) // 2)) for step in range(30)]
    np.testing.assert_allclose(seen, expected, rtol=1e-15)


BAD_ARGUMENTS = [
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate=0.0, decay_rate=1, steps_per_epoch=1), ValueError, "initial_learning_rate"),
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate=0.1, decay_rate=-1, steps_per_epoch=1), ValueError, "decay_rate"),
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate=0.1, decay_rate=1, steps_per_epoch=0), ValueError, "steps_per_epoch"),
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate=0.1, decay_rate=1, steps_per_epoch=2.5), TypeError, "steps_per_epoch"),
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate=0.1, decay_rate=1, steps_per_epoch=True), TypeError, "steps_per_epoch"),
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate=0.1, decay_rate=1, steps_per_epoch=3, time_interval=0), ValueError, "time_interval"),
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate="0.1", decay_rate=1, steps_per_epoch=3), TypeError, "initial_learning_rate"),
    (schedules.ExponentialEpochDecay, dict(initial_learning_rate=0.1, rate=1.5, steps_per_epoch=3), ValueError, "rate"),
    (schedules.ExponentialEpochDecay, dict(initial_learning_rate=0.1, rate=0.0, steps_per_epoch=3), ValueError, "rate"),
    (schedules.ExponentialEpochDecay, dict(initial_learning_rate=math.inf, rate=0.9, steps_per_epoch=3), ValueError, "initial_learning_rate"),
    (schedules.InverseSqrtEpochDecay, dict(initial_learning_rate=0.1, k=-1.0, steps_per_epoch=3), ValueError, "k"),
    (schedules.InverseSqrtEpochDecay, dict(initial_learning_rate=0.1, k=None, steps_per_epoch=3), TypeError, "k"),
    (schedules.EpochStaircase, dict(boundaries=[5, 3], values=[0.1, 0.2, 0.3], steps_per_epoch=3), ValueError, "boundaries"),
    (schedules.EpochStaircase, dict(boundaries=[3, 3], values=[0.1, 0.2, 0.3], steps_per_epoch=3), ValueError, "boundaries"),
    (schedules.EpochStaircase, dict(boundaries=[0], values=[0.1, 0.2], steps_per_epoch=3), ValueError, "boundaries[0]"),
    (schedules.EpochStaircase, dict(boundaries=[2, 4], values=[0.1, 0.2], steps_per_epoch=3), ValueError, "values"),
    (schedules.EpochStaircase, dict(boundaries=[2], values=[0.1, -0.2], steps_per_epoch=3), ValueError, "values[1]"),
    (schedules.EpochStaircase, dict(boundaries=3, values=[0.1, 0.2], steps_per_epoch=3), TypeError, "boundaries"),
    (schedules.EpochStaircase, dict(boundaries=[2.5], values=[0.1, 0.2], steps_per_epoch=3), TypeError, "boundaries[0]"),
    (schedules.InverseTimeEpochDecay, dict(initial_learning_rate=0.1, decay_rate=1, steps_per_epoch=3, epoch_numbering="one_based"), ValueError, "epoch_numbering"),
    (schedules.ExponentialEpochDecay, dict(initial_learning_rate=0.1, rate=0.9, steps_per_epoch=3, epoch_numbering=1), TypeError, "epoch_numbering"),
    (schedules.InverseSqrtEpochDecay, dict(initial_learning_rate=0.1, k=1.0, steps_per_epoch=3, epoch_numbering="zero_based"), ValueError, "epoch_numbering"),
    (schedules.InverseSqrtEpochDecay, dict(initial_learning_rate=0.1, k=1.0, steps_per_epoch=3, epoch_numbering="assignment"), ValueError, "epoch_numbering"),
]


@pytest.mark.parametrize("cls, kwargs, error, argument", BAD_ARGUMENTS)
def test_bad_arguments_are_rejected(cls, kwargs, error, argument):
    with pytest.raises(error, match=f"`{argument.replace('[', '.').replace(']', '.')}`"):
        cls(**kwargs)


@pytest.mark.parametrize("name", SCHEDULES)
def test_config_round_trip_and_registration(name):
    schedule = SCHEDULES[name][0]()
    config = schedule.get_config()
    assert type(schedule).from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(schedule)
    assert serialized["registered_name"] == f"keras_optims>{type(schedule).__name__}"
    rebuilt = keras.saving.deserialize_keras_object(serialized)
    np.testing.assert_array_equal([float(rebuilt(s)) for s in STEPS], [float(schedule(s)) for s in STEPS])


def test_optimizer_with_schedule_survives_save_and_load(tmp_path):
    schedule = schedules.EpochStaircase([2], [0.1, 0.01], steps_per_epoch=4)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.Adam(schedule), loss="mse")
    model.fit(np.ones((16, 3)), np.ones((16, 1)), batch_size=4, epochs=3, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer._learning_rate.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == 12
    # Position in the schedule: step 12 is in epoch 3, past the boundary.
    assert float(loaded.optimizer.learning_rate) == 0.01
