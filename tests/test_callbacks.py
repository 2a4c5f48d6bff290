"""Callbacks: EWMA of per-batch metrics, the learning rate used, trajectories,
and Keras's own learning-rate callbacks with our optimizers and schedules."""

import glob
import warnings

import numpy as np
import pytest

import keras
import keras_optims
from keras_optims import schedules
from keras_optims.callbacks import EWMA, LearningRateLogger, TrajectoryRecorder
from support import weighted_sum


def feed(callback, epochs_of_batch_values, monitor="loss", every=1):
    """Drives `callback` as fit does, with logs holding the running mean of
    the epoch so far (what Keras logs), and returns the logs it leaves.

    `epochs_of_batch_values` is one list of batch values per epoch, or a dict
    of such lists per monitor. With `every` = n > 1, as with
    ``steps_per_execution=n``, Keras calls back after batches n, 2n, … (batch
    index n − 1, 2n − 1, …) and after the epoch's last batch."""
    series = epochs_of_batch_values if isinstance(epochs_of_batch_values, dict) else {monitor: epochs_of_batch_values}
    callback.on_train_begin({})
    batch_logs, epoch_logs = [], []
    for epoch in range(len(next(iter(series.values())))):
        callback.on_epoch_begin(epoch, {})
        count = len(next(iter(series.values()))[epoch])
        for k in range(1, count + 1):
            if k % every and k != count:
                continue
            logs = {name: float(np.mean(epochs[epoch][:k])) for name, epochs in series.items()}
            callback.on_train_batch_end(k - 1, logs)
            batch_logs.append(logs)
        logs = {name: float(np.mean(epochs[epoch])) for name, epochs in series.items()}
        callback.on_epoch_end(epoch, logs)
        epoch_logs.append(logs)
    return batch_logs, epoch_logs


def test_ewma_recovers_each_batch_value_from_keras_running_means():
    # The example measured with Keras 3: batch losses 2.89, 3.91, 2.79, 5.18
    # are logged as 2.89, 3.40, 3.19, 3.69.
    batch_logs, _ = feed(EWMA(), [[2.89, 3.91, 2.79, 5.18]])
    np.testing.assert_allclose([logs["batch_loss"] for logs in batch_logs], [2.89, 3.91, 2.79, 5.18], rtol=1e-13)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.98])
def test_ewma_of_a_constant_series_is_that_constant_once_corrected(beta):
    batch_logs, epoch_logs = feed(EWMA(beta=beta), [[3.25] * 7] * 3)
    np.testing.assert_allclose([logs["ewma_loss"] for logs in batch_logs], 3.25, rtol=1e-14)
    # Uncorrected, the same series starts biased towards zero: V_t = c·(1 − βᵗ).
    batch_logs, _ = feed(EWMA(beta=beta, bias_correction=False), [[3.25] * 7] * 3)
    expected = 3.25 * (1 - beta ** np.arange(1, 22))
    np.testing.assert_allclose([logs["ewma_loss"] for logs in batch_logs], expected, rtol=1e-13)


def test_ewma_counts_t_across_epochs_and_reports_the_last_batch_per_epoch():
    rng = np.random.default_rng(0)
    epochs = [list(rng.uniform(1, 2, 5)) for _ in range(3)]
    batch_logs, epoch_logs = feed(EWMA(beta=0.9), epochs)
    series = np.concatenate(epochs)
    t = np.arange(1, len(series) + 1)
    # Closed form: V_t = (1 − β)·Σ β^(t−k)·θ_k, corrected by 1/(1 − βᵗ).
    expected = weighted_sum(series, 0.9)[:, ...] / (1 - 0.9**t)
    np.testing.assert_allclose([logs["ewma_loss"] for logs in batch_logs], expected, rtol=1e-12)
    np.testing.assert_allclose([logs["ewma_loss"] for logs in epoch_logs], expected[[4, 9, 14]], rtol=1e-12)
    # Negative control: feeding the corrected value back (the notes' equation 2
    # read literally) is a different series.
    v, wrong = 0.0, []
    for step, theta in enumerate(series, start=1):
        v = (0.9 * v + 0.1 * theta) / (1 - 0.9**step)
        wrong.append(v)
    assert not np.allclose(wrong, expected, rtol=1e-3)


def linear_problem(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(n)).astype("float32")[:, None]
    return X, y


def test_ewma_in_real_fit_matches_batch_losses_computed_independently():
    """Each batch's loss is recomputed in NumPy from the weights recorded
    before its step; the callback's recovered values and averages must match."""
    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.Momentum(0.1), loss="mse")
    ewma, recorder = EWMA(beta=0.9), TrajectoryRecorder()
    model.fit(X, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[ewma, recorder])
    kernels, biases = recorder.trajectories.values()
    losses = []
    for step in range(18):  # 6 batches per epoch, 3 epochs
        rows = slice((step % 6) * 8, (step % 6) * 8 + 8)
        prediction = X[rows].astype(np.float64) @ kernels[step] + biases[step]
        losses.append(np.mean((prediction - y[rows]) ** 2))
    # float32 forward pass vs float64 here, plus the recovery k·m_k − (k−1)·m_{k−1}
    # from float32 means (error ≤ ~2k ulps of m, k ≤ 6): 1e-5 relative.
    np.testing.assert_allclose(ewma.history["batch_loss"], losses, rtol=1e-5)
    expected = weighted_sum(np.array(losses), 0.9) / (1 - 0.9 ** np.arange(1, 19))
    np.testing.assert_allclose(ewma.history["ewma_loss"], expected, rtol=1e-5)


def test_ewma_several_monitors_and_history():
    """Each monitor is averaged from its own values. Before: a callback
    that averaged every monitor from the first one's values passed."""
    rng = np.random.default_rng(5)
    series = {"loss": [list(rng.uniform(1, 2, 4)) for _ in range(2)],
              "mae": [list(rng.uniform(10, 20, 4)) for _ in range(2)],
              "accuracy": [list(rng.uniform(0, 1, 4)) for _ in range(2)]}
    ewma = EWMA(["mae", "loss", "accuracy"], beta=0.5)
    batch_logs, epoch_logs = feed(ewma, series)
    t = np.arange(1, 9)
    for name, epochs in series.items():
        values = np.concatenate(epochs)
        expected = weighted_sum(values, 0.5) / (1 - 0.5**t)
        np.testing.assert_allclose([logs[f"batch_{name}"] for logs in batch_logs], values, rtol=1e-12)
        np.testing.assert_allclose([logs[f"ewma_{name}"] for logs in batch_logs], expected, rtol=1e-12)
        np.testing.assert_allclose(ewma.history[f"ewma_{name}"], expected, rtol=1e-12)
        np.testing.assert_allclose([logs[f"ewma_{name}"] for logs in epoch_logs], expected[[3, 7]], rtol=1e-12)

    # In fit, every monitor is logged per batch and per epoch.
    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.Adam(0.05), loss="mse", metrics=["mae"])
    history = model.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[EWMA(["loss", "mae"], beta=0.5)])
    assert len(history.history["ewma_loss"]) == len(history.history["ewma_mae"]) == 2
    assert history.history["ewma_loss"] != history.history["ewma_mae"]


def test_ewma_with_steps_per_execution_applies_each_mean_once_per_batch():
    """With steps_per_execution = 3, each call back recovers the mean θ̄ of
    the three batches since the last one and applies it three times,
    V ← β³·V + (1 − β³)·θ̄: the average of the series in which each batch
    holds its group's mean. Before: a callback that applied θ̄ once (t
    counting call backs) passed."""
    rng = np.random.default_rng(6)
    epochs = [list(rng.uniform(1, 2, 7)) for _ in range(2)]  # groups of 3, 3, 1 per epoch
    ewma = EWMA(beta=0.8)
    batch_logs, _ = feed(ewma, epochs, every=3)
    grouped = np.concatenate([[np.mean(e[i:i + 3])] * len(e[i:i + 3]) for e in epochs for i in (0, 3, 6)])
    t = np.arange(1, 15)
    expected = weighted_sum(grouped, 0.8) / (1 - 0.8**t)
    ends = [2, 5, 6, 9, 12, 13]  # the last batch of each group
    np.testing.assert_allclose([logs["batch_loss"] for logs in batch_logs], grouped[ends], rtol=1e-12)
    np.testing.assert_allclose([logs["ewma_loss"] for logs in batch_logs], expected[ends], rtol=1e-12)
    assert ewma.t == 14


def test_ewma_warns_once_for_a_monitor_that_never_appears():
    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.Adam(), loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, y, batch_size=8, epochs=3, verbose=0, callbacks=[EWMA(["loss", "val_loss"])])
    messages = [str(w.message) for w in caught if "EWMA" in str(w.message)]
    assert len(messages) == 1 and "'val_loss' never appeared" in messages[0] and "loss" in messages[0]
    assert "ewma_loss" in history.history and "ewma_val_loss" not in history.history


def test_ewma_with_steps_per_execution_counts_batches():
    if keras.backend.backend() == "torch":
        pytest.skip("Keras's PyTorch backend has no steps_per_execution > 1")
    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.GradientDescent(0.01), loss="mse", steps_per_execution=3)
    ewma = EWMA()
    model.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[ewma])
    assert ewma.t == 12


@pytest.mark.parametrize(
    "cls, kwargs, error",
    [
        (EWMA, {"beta": 1.0}, ValueError),
        (EWMA, {"beta": "0.9"}, TypeError),
        (EWMA, {"bias_correction": 1}, TypeError),
        (EWMA, {"monitor": []}, TypeError),
        (EWMA, {"monitor": ["loss", "loss"]}, ValueError),
        (LearningRateLogger, {"per_batch": "yes"}, TypeError),
        (TrajectoryRecorder, {"every": 0}, ValueError),
        (TrajectoryRecorder, {"variables": "dense/kernel"}, TypeError),
    ],
)
def test_callback_bad_arguments(cls, kwargs, error):
    (name, value), = kwargs.items()
    with pytest.raises(error, match=f"`{name}`.*Received: {name}={value!r}".replace("[", r"\[").replace("]", r"\]")):
        cls(**kwargs)


def test_trajectory_recorder_by_path_and_every():
    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="out")])
    model.compile(optimizer=keras_optims.GradientDescent(0.05), loss="mse")
    recorder = TrajectoryRecorder(variables=["out/kernel"], every=4)
    model.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[recorder])
    np.testing.assert_array_equal(recorder.steps, [0, 4, 8, 12])
    assert list(recorder.trajectories) == ["sequential/out/kernel"]  # keyed by full path
    assert recorder.trajectories["sequential/out/kernel"].shape == (4, 3, 1)
    np.testing.assert_array_equal(recorder.trajectories["sequential/out/kernel"][-1], model.layers[0].kernel.numpy())
    with pytest.raises(ValueError, match="'nope' matches no trainable weight"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[TrajectoryRecorder(["nope"])])


def test_learning_rate_logger_with_keras_manual_decay_callbacks():
    """The course's manual decay is Keras's LearningRateScheduler: the logger
    reports the rate each epoch actually used."""
    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.Adam(0.1), loss="mse")
    manual = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (1 + epoch))
    history = model.fit(X, y, batch_size=8, epochs=4, verbose=0, callbacks=[manual, LearningRateLogger()])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3, 0.025], rtol=1e-15)


def test_reduce_lr_on_plateau_works_with_our_optimizer():
    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.Momentum(0.01), loss="mse")
    # min_delta so large that every epoch after the first (which sets the
    # best value) counts as a plateau and halves the rate at its end.
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    history = model.fit(X, y, batch_size=8, epochs=4, verbose=0, callbacks=[LearningRateLogger(), plateau])
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.01, 0.005, 0.0025], rtol=1e-15)


def test_a_schedule_and_a_manual_decay_callback_do_not_fight():
    """Keras refuses to let a callback overwrite a schedule; ours behave the same."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    schedule = schedules.ExponentialEpochDecay(0.1, 0.5, steps_per_epoch=6)
    model.compile(optimizer=keras_optims.Adam(schedule), loss="mse")
    manual = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1)
    with pytest.raises(TypeError, match="not settable"):
        model.fit(*linear_problem(), batch_size=8, epochs=1, verbose=0, callbacks=[manual])


@pytest.mark.tensorflow
def test_tensorboard_records_ewma_and_learning_rate(tmp_path):
    import tensorflow as tf

    X, y = linear_problem()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.GradientDescent(schedules.InverseTimeEpochDecay(0.1, 1.0, 6)), loss="mse")
    board = keras.callbacks.TensorBoard(str(tmp_path), update_freq="batch")
    model.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[EWMA(), LearningRateLogger(per_batch=True), board])
    scalars = {}
    for path in glob.glob(str(tmp_path / "**" / "events*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                array = tf.make_ndarray(value.tensor)
                if array.dtype.kind == "f":  # skip the model's text summary
                    scalars.setdefault(value.tag, []).append(float(array))
    for tag in ("epoch_ewma_loss", "epoch_learning_rate", "batch_ewma_loss", "batch_learning_rate"):
        assert tag in scalars, sorted(scalars)
    # Per batch TensorBoard writes our logged value: the rate each step used.
    np.testing.assert_allclose(scalars["batch_learning_rate"], [0.1] * 6 + [0.05] * 6, rtol=1e-7)
    # (Per epoch it writes its own reading of optimizer.learning_rate, the rate
    # of the *next* step; see LearningRateLogger's docstring.)


def test_callbacks_survive_backup_and_restore(tmp_path):
    """A failure in epoch 2 and a restart with the same callback objects: the
    EWMA is rebuilt from the resumed batch (t restarts) and the trajectory
    keeps one record per step."""
    X, y = linear_problem()

    class Fail(keras.callbacks.Callback):
        armed = True

        def on_train_batch_end(self, batch, logs=None):
            if self.armed and self.model.optimizer.iterations.numpy() == 9:
                self.armed = False
                raise RuntimeError("injected failure")

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.Adam(0.05), loss="mse")
    ewma, recorder, fail = EWMA(), TrajectoryRecorder(), Fail()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    callbacks = [ewma, recorder, backup, fail]
    with pytest.raises(RuntimeError, match="injected"):
        model.fit(X, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=callbacks)
    history = model.fit(X, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=callbacks)
    assert int(model.optimizer.iterations.numpy()) == 18
    np.testing.assert_array_equal(recorder.steps, np.arange(19))
    assert ewma.t == 18 - 6  # rebuilt from the start of epoch 2 (the last backup)
    assert len(history.history["ewma_loss"]) == 2


@pytest.mark.parametrize(
    "callback", [EWMA(["loss", "mae"], beta=0.8, bias_correction=False), LearningRateLogger(True), TrajectoryRecorder(["dense/kernel"], 3)],
    ids=["EWMA", "LearningRateLogger", "TrajectoryRecorder"],
)
def test_callbacks_serialize(callback):
    serialized = keras.saving.serialize_keras_object(callback)
    assert serialized["registered_name"].startswith("keras_optims>")
    rebuilt = keras.saving.deserialize_keras_object(serialized)
    assert type(rebuilt) is type(callback) and rebuilt.get_config() == callback.get_config()


@pytest.mark.parametrize("bias_correction", [True, False])
def test_exponential_average_helper_matches_the_reference(bias_correction):
    from keras_optims.callbacks import exponentially_weighted_average
    from keras_optims.verification import reference

    series = np.random.default_rng(2).normal(10, 3, 200)
    np.testing.assert_allclose(
        exponentially_weighted_average(series, 0.9, bias_correction),
        reference.ewma(series, 0.9, bias_correction),
        rtol=1e-13,
    )


def test_exponential_average_several_steps_at_once():
    from keras_optims.callbacks import ExponentialAverage

    once, step_by_step = ExponentialAverage(0.8), ExponentialAverage(0.8)
    once.update(2.0), step_by_step.update(2.0)
    once.update(5.0, steps=3)
    for _ in range(3):
        step_by_step.update(5.0)
    assert once.t == step_by_step.t == 4
    np.testing.assert_allclose(once.value, step_by_step.value, rtol=1e-15)
    with pytest.raises(ValueError, match="beta"):
        ExponentialAverage(beta=1.0)
