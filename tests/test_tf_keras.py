"""The tf_keras (Keras 2) flavour: real tf_keras optimizers and schedules that
train, serialize and keep exact state like the Keras 3 classes."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import keras_optims
from keras_optims import tf_keras as flavour
from keras_optims.verification import reference
from registry import CASE_IDS, CASES


def tf_keras_case(case, **overrides):
    return getattr(flavour, case.cls.__name__)(**{**case.kwargs, **overrides})


def small_model():
    tf_keras.utils.set_random_seed(0)
    return tf_keras.Sequential([tf_keras.layers.Dense(6, activation="tanh", input_shape=(4,)), tf_keras.layers.Dense(1)])


def data(n=128):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4)).astype("float32")
    return X, (X @ np.array([1.0, -2.0, 0.5, 3.0])).astype("float32")[:, None]


def test_classes_are_tf_keras_classes_sharing_the_rules():
    for name in ("GradientDescent", "Momentum", "RMSProp", "Adam"):
        cls = getattr(flavour, name)
        assert issubclass(cls, tf_keras.optimizers.Optimizer)
        assert cls.rule is getattr(keras_optims, name).rule  # one copy of the math
    for name in ("InverseTimeEpochDecay", "ExponentialEpochDecay", "InverseSqrtEpochDecay", "EpochStaircase"):
        assert issubclass(getattr(flavour, name), tf_keras.optimizers.schedules.LearningRateSchedule)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("fused", [True, False])  # the default's choice by size: tests/test_update_path.py
def test_fit_reduces_the_loss_with_the_fused_kernel_or_xla(case, fused):
    X, y = data()
    model = small_model()
    optimizer = tf_keras_case(case, fused=fused)
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(X, y, batch_size=32, epochs=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0], history
    assert set(optimizer._updater.updates_by_path) == {"fused" if fused else "xla"}
    if fused is False:
        assert optimizer.jit_compile and optimizer._updater._compiled.experimental_get_tracing_count() > 0


@pytest.mark.parametrize("compile_arguments, path", [
    ({}, "xla"),  # tf_keras leaves jit_compile None unless it is given: the optimizer's default
    ({"jit_compile": False}, "ops"),
    ({"run_eagerly": True}, "ops"),
])
def test_fit_follows_the_models_jit_compile_and_run_eagerly(compile_arguments, path):
    """Before: the update ran XLA-compiled under jit_compile=False and
    run_eagerly=True."""
    X, y = data(64)
    model = small_model()
    optimizer = flavour.Adam(fused=False)
    model.compile(optimizer=optimizer, loss="mse", **compile_arguments)
    model.fit(X, y, batch_size=32, epochs=1, verbose=0)
    assert set(optimizer._updater.updates_by_path) == {path}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_same_steps_as_the_keras_3_class(case):
    """Both flavours run the same rule: after 20 steps on the same gradients the
    weights and slots agree to float64 rounding."""
    from support import random_gradients, run_steps

    grads = random_gradients(20, 6, "float64")
    W2, slots2 = run_steps(tf_keras_case(case), np.ones(6), grads, "float64")
    W3, slots3 = run_steps(case.make(), np.ones(6), grads, "float64")
    np.testing.assert_allclose(W2, W3, rtol=1e-14, atol=1e-16)
    for name in slots3:
        np.testing.assert_allclose(slots2[name], slots3[name], rtol=1e-14, atol=1e-30)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_config_round_trip_and_registration(case):
    optimizer = tf_keras_case(case, jit_compile=False)
    config = optimizer.get_config()
    for name, value in {**case.kwargs, "jit_compile": False}.items():
        assert config[name] == value, name
    serialized = tf_keras.optimizers.serialize(optimizer)
    rebuilt = tf_keras.optimizers.deserialize(json.loads(json.dumps(serialized)))
    assert type(rebuilt) is type(optimizer) and rebuilt.get_config() == config


def test_float_learning_rate_is_exact_in_float64():
    optimizer = flavour.GradientDescent(0.01)
    W = tf.Variable([0.0], dtype=tf.float64)
    optimizer.apply_gradients([(tf.constant([1.0], tf.float64), W)])
    assert W.numpy()[0] == -0.01


def test_saved_model_format_rebuilds_the_optimizer(tmp_path):
    """tf_keras's SavedModel format rebuilds the optimizer (class, config) but
    restores no optimizer state — for its own built-ins neither (measured:
    tf_keras.optimizers.Adam comes back with iterations 0). Use .keras files
    or tf.train.Checkpoint to resume training."""
    X, y = data()
    model = small_model()
    model.compile(optimizer=flavour.RMSProp(0.01, epsilon_mode="keras"), loss="mse")
    model.fit(X, y, batch_size=32, epochs=1, verbose=0)
    model.save(str(tmp_path / "saved_model"), save_format="tf")
    loaded = tf_keras.models.load_model(str(tmp_path / "saved_model"))
    assert type(loaded.optimizer) is flavour.RMSProp
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_keras_file_keeps_the_optimizer_state_and_schedule_position(tmp_path):
    X, y = data()
    model = small_model()
    schedule = flavour.EpochStaircase([2], [0.05, 0.01], steps_per_epoch=4)
    model.compile(optimizer=flavour.Adam(schedule), loss="mse")
    model.fit(X, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = tf_keras.models.load_model(path)
    assert int(loaded.optimizer.iterations.numpy()) == 12
    for w in model.trainable_weights:
        for name in ("v", "s"):
            match = [lw for lw in loaded.trainable_weights if lw.name == w.name][0]
            np.testing.assert_array_equal(
                loaded.optimizer.get_slot(match, name).numpy(), model.optimizer.get_slot(w, name).numpy()
            )
    # Both continue identically from the restored state and schedule position.
    model.fit(X, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    loaded.fit(X, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("numbering", reference.NUMBERINGS)
def test_tf_keras_schedule_values_match_the_reference(numbering):
    schedule = flavour.InverseTimeEpochDecay(0.2, 0.5, steps_per_epoch=7, time_interval=3, epoch_numbering=numbering)
    for step in range(100):
        n = reference.epoch_number(reference.epoch_of(step, 7), numbering)
        assert float(schedule(step)) == pytest.approx(reference.inverse_time_decay(0.2, 0.5, n, 3), rel=1e-15)
    rebuilt = tf_keras.optimizers.schedules.deserialize(tf_keras.optimizers.schedules.serialize(schedule))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()


def test_keras_3_only_arguments_are_rejected_by_tf_keras():
    with pytest.raises((TypeError, ValueError)):
        flavour.Adam(gradient_accumulation_steps=2)
