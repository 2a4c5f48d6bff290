"""Faults and bad input during training: missing, mis-shaped and non-finite
gradients, loss scaling, and restarting after a failure."""

import shutil
import warnings

import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_optims
from keras_optims.verification import registry
from registry import CASE_IDS, CASES, make


def test_a_none_gradient_is_skipped_with_a_warning_as_keras_does():
    for optimizer in (keras_optims.Adam(0.1), keras.optimizers.Adam(0.1)):
        a, b = keras.Variable(np.ones(3), name="a"), keras.Variable(np.ones(3), name="b")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            optimizer.apply([None, tf.ones(3, tf.float64)], [a, b])
        assert any("Gradients do not exist" in str(w.message) for w in caught), [str(w.message) for w in caught]
        np.testing.assert_array_equal(a.numpy(), np.ones(3))
        assert not np.array_equal(b.numpy(), np.ones(3))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_gradient_of_the_wrong_shape_raises(case):
    optimizer = make(case)
    W = keras.Variable(np.ones(3), name="W")
    with pytest.raises(ValueError, match=r"has shape \(1,\), but the variable has shape \(3,\)"):
        optimizer.apply([tf.ones(1, tf.float64)], [W])
    np.testing.assert_array_equal(W.numpy(), np.ones(3))


def test_integer_variables_are_rejected_clearly():
    W = keras.Variable(np.array([1, 2, 3], dtype="int32"), name="counts")
    with pytest.raises(TypeError, match="variable 'counts' has dtype int32"):
        keras_optims.Adam().apply([tf.ones(3, tf.int32)], [W])


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_non_finite_gradients_spoil_only_their_own_elements(case, bad):
    """As Keras's built-ins: no check, the course math runs element-wise, so a
    NaN or ±Inf in dW makes that element of W (and of v, s) non-finite and
    leaves every other element exactly as with a clean gradient."""
    clean, dirty = make(case), make(case)
    W_clean, W_dirty = keras.Variable(np.ones(4)), keras.Variable(np.ones(4))
    g = np.array([0.5, -1.0, 2.0, 0.25])
    g_bad = g.copy()
    g_bad[1] = bad
    for _ in range(3):
        clean.apply([tf.constant(g)], [W_clean])
        dirty.apply([tf.constant(g_bad)], [W_dirty])
    assert not np.isfinite(W_dirty.numpy()[1])
    np.testing.assert_array_equal(np.delete(W_dirty.numpy(), 1), np.delete(W_clean.numpy(), 1))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_loss_scale_optimizer_skips_non_finite_steps_and_keeps_the_state(case):
    optimizer = keras.optimizers.LossScaleOptimizer(make(case), initial_scale=2.0**10)
    W = keras.Variable(np.ones(4, "float32"))
    optimizer.apply([tf.constant([0.5, -1.0, 2.0, 0.25])], [W])  # a finite step first
    inner = optimizer.inner_optimizer
    before = [v.numpy().copy() for v in inner.variables] + [W.numpy().copy()]
    scale = float(optimizer.dynamic_scale.numpy())
    optimizer.apply([tf.constant([np.nan, 1.0, 1.0, 1.0], tf.float32)], [W])
    after = [v.numpy() for v in inner.variables] + [W.numpy()]
    for a, b in zip(after, before):
        np.testing.assert_array_equal(a, b)  # W, slots, iterations and α untouched
    assert float(optimizer.dynamic_scale.numpy()) == scale / 2


class FailOnce(keras.callbacks.Callback):
    """Raises once, when the optimizer has taken `at` steps (mid-epoch)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.armed = at, True

    def on_train_batch_end(self, batch, logs=None):
        if self.armed and int(self.model.optimizer.iterations.numpy()) == self.at:
            self.armed = False
            raise RuntimeError("injected failure")


FAULT_CASES = CASES + [
    registry.Case(
        "adam-staircase",
        keras_optims.Adam,
        {"learning_rate": keras_optims.schedules.EpochStaircase([1, 3], [0.02, 0.01, 0.005], 4)},
    )
]


@pytest.mark.parametrize("case", FAULT_CASES, ids=[c.id for c in FAULT_CASES])
def test_backup_and_restore_after_a_mid_epoch_failure_ends_bit_identical(tmp_path, case):
    """Keras's promise with BackupAndRestore(save_freq="epoch"): after a
    failure, fit restarts at the beginning of the interrupted epoch with the
    weights, optimizer state and epoch counter of the last completed epoch.
    With the same batches (shuffle=False) the run then ends bit-identical to
    an uninterrupted one: weights, every slot and the step counter."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype("float32")
    y = X.sum(axis=1, keepdims=True)

    def model():
        keras.utils.set_random_seed(0)
        net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)])
        net.compile(optimizer=case.make(), loss="mse")
        return net

    straight = model()
    straight.fit(X, y, batch_size=16, epochs=4, shuffle=False, verbose=0)

    backup, fail = keras.callbacks.BackupAndRestore(str(tmp_path / "backup")), FailOnce(at=10)
    with pytest.raises(RuntimeError, match="injected"):
        model().fit(X, y, batch_size=16, epochs=4, shuffle=False, verbose=0, callbacks=[backup, fail])
    restarted = model()  # a new model, as after a process restart
    restarted.fit(X, y, batch_size=16, epochs=4, shuffle=False, verbose=0, callbacks=[backup, fail])

    for a, b in zip(restarted.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(restarted.optimizer.variables, straight.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    assert int(restarted.optimizer.iterations.numpy()) == 16
    shutil.rmtree(tmp_path / "backup", ignore_errors=True)


@pytest.fixture
def mixed_policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("mixed_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_mixed_precision_training_keeps_float32_master_weights(mixed_policy, case):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 4)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0])).astype("float32")[:, None]
    model = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1, dtype="float32"),
    ])
    model.compile(optimizer=make(case), loss="mse")
    history = model.fit(X, y, batch_size=32, epochs=20, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < 0.5 * history[0], history
    assert {w.dtype for w in model.trainable_weights} == {"float32"}
    optimizer = model.optimizer
    if mixed_policy == "mixed_float16":
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        optimizer = optimizer.inner_optimizer
    for w in model.trainable_weights:
        for name in optimizer.slot_names:
            assert optimizer.get_slot(w, name).dtype == "float32"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_loss_scaled_steps_follow_the_reference(case):
    """Under mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer,
    which divides the scaled gradients by a power of two (exact) before the
    rule: the float32 master weights then follow the course reference within
    the float32 step tolerance of the verification suite."""
    import functools

    from keras_optims.verification import harness

    scale = 2.0**12

    from keras_optims.verification.drivers import Driver

    class LossScaledDriver(Driver):
        """Feeds the gradients multiplied by the loss scale, as Keras does under
        mixed precision, and reads the wrapped optimizer's slots."""

        def apply(self, grads):
            super().apply([g * scale for g in grads])

        def _slot(self, variable, symbol):
            return self.optimizer.inner_optimizer.get_slot(variable, symbol)

    spec = registry.reference_for(make(case))
    driver = LossScaledDriver(keras.optimizers.LossScaleOptimizer(make(case), initial_scale=scale), spec.slots)
    config = make(case).get_config()
    report = harness.compare_steps(
        case.id, driver, functools.partial(spec.step, **spec.arguments(config)), 100, "float32",
        state=spec.slots, lr_at=registry.learning_rate_reference(config["learning_rate"]),
    )
    assert report.passed, report


def free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_matches_one_device(tmp_path):
    """Two worker processes on 127.0.0.1 (free ports, 300 s at most) train every
    configuration with MultiWorkerMirroredStrategy in a custom loop (see
    multi_worker.py for why not `fit`): each worker takes half of every batch
    and the gradients are all-reduced. Both workers end with the same weights,
    which match one device within 1e-5 relative (the batch gradient is summed
    in another order; see the MirroredStrategy test)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import multi_worker

    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("multi_worker.py")), str(tmp_path)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    try:
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err[-3000:]
    finally:
        for worker in workers:
            worker.kill()
    results = [np.load(tmp_path / f"worker{i}.npz") for i in range(2)]
    for key in results[0].files:
        np.testing.assert_array_equal(results[0][key], results[1][key], err_msg=key)
    for case in CASES:
        single = multi_worker.train(case)
        for i, w in enumerate(single):
            for result in results:
                np.testing.assert_allclose(result[f"{case.id}/{i}"], w, rtol=1e-5, atol=1e-6, err_msg=case.id)
