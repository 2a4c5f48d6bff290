"""Exponentially weighted averages: the course's recursion, and a callback
that applies it to per-batch metrics."""

import warnings

import keras
import numpy as np

from keras_optims import checks
from keras_optims.callbacks.batch_values import BatchValues
from keras_optims.callbacks.serializable import SerializableCallback


class ExponentialAverage:
    """The course's exponentially weighted average of a series θ₁, θ₂, …

        V₀ = 0,   V_t = β·V_{t−1} + (1 − β)·θ_t
        value: V_t / (1 − βᵗ)  (bias_correction=True)  or  V_t

    The recursion always runs on the uncorrected V; the correction is only
    applied to what is reported. `update(θ, steps=n)` applies the same value
    n times at once: V ← βⁿ·V + (1 − βⁿ)·θ, t ← t + n.
    """

    def __init__(self, beta=0.9, bias_correction=True):
        self.beta = checks.check_decay("beta", beta)
        self.bias_correction = checks.check_boolean("bias_correction", bias_correction)
        self.V, self.t = 0.0, 0

    def update(self, value, steps=1):
        decay = self.beta**steps
        self.V = decay * self.V + (1.0 - decay) * value
        self.t += steps
        return self.value

    @property
    def value(self):
        if self.bias_correction and self.t:
            return self.V / (1.0 - self.beta**self.t)
        return self.V


def exponentially_weighted_average(series, beta=0.9, bias_correction=True):
    """The averages of `series` (first axis = time) at every t, as an array."""
    average = ExponentialAverage(beta, bias_correction)
    return np.array([average.update(np.asarray(theta, dtype=np.float64)) for theta in series])


def _monitors(monitor):
    names = [monitor] if isinstance(monitor, str) else monitor
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise TypeError(
            "Argument `monitor` must be a metric name or a non-empty list of "
            f"metric names. Received: monitor={monitor!r}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"Argument `monitor` names a metric twice. Received: monitor={monitor!r}")
    return list(names)


@keras.saving.register_keras_serializable(package="keras_optims")
class EWMA(SerializableCallback):
    """Smooths the per-batch values of metrics as the course smooths the noisy
    mini-batch cost.

        V₀ = 0
        V_t = β·V_{t−1} + (1 − β)·θ_t        (the recursion, never corrected)
        reported: V_t / (1 − βᵗ)             (bias_correction=True, the default)
                  V_t                        (bias_correction=False)

    θ_t is the metric of the t-th batch, with t counted from the start of
    training (the `fit` call) across epochs. β = 0.9 averages over roughly
    the last 1/(1 − β) = 10 batches.

    θ_t is recovered from Keras's batch logs, which hold the running mean
    of the epoch so far, by `BatchValues` (`keras_optims.callbacks.batch_values`):
    θ_k = (N_k·m_k − N_{k−1}·m_{k−1}) / (N_k − N_{k−1}), with N_k the
    examples seen in the epoch, read from Keras's loss tracker (for `"loss"`
    its running sum too), so the last, smaller batch of an epoch comes out
    right. The recovered value inherits the rounding of the logged means,
    about k·ulp(m): for a float32 loss near 1 and 1,000 batches per epoch,
    ~1e-4. With `steps_per_execution = n > 1` Keras calls back once per n
    batches; the callback then recovers the mean of those batches and applies
    it n times (V ← βⁿ·V + (1 − βⁿ)·θ), so t still counts batches.

    What it writes into the logs, so that `History`, `CSVLogger` and
    `TensorBoard` (listed after it in `callbacks=[…]`) record it:
    - per batch: `ewma_<monitor>` and `batch_<monitor>` (the recovered value);
    - per epoch: `ewma_<monitor>` at the epoch's last batch.
    `self.history` keeps both per-batch series as lists, for plots.

    A monitor that never appears in the batch logs (a typo, or a validation
    metric, which Keras logs only per epoch) causes one warning that lists the
    available names, and is skipped.

    Resuming (`BackupAndRestore`): the average is rebuilt, not restored. Each
    `fit` call starts from V = 0, t = 0 at its first batch, so after a restart
    the reported average is again bias-corrected from the resumed batch on.

    Args:
        monitor: a metric name (`"loss"`, `"accuracy"`, …) or a list of them.
        beta: β in [0, 1).
        bias_correction: bool, report V_t / (1 − βᵗ) instead of V_t.

    Examples:
        The smoothed mini-batch cost of a `fit`, one value per batch:

        ```python
        import keras
        import numpy as np
        import keras_optims
        from keras_optims.callbacks import EWMA

        x = np.random.default_rng(0).standard_normal((256, 2))
        y = (x[:, :1] > 0).astype("float32")
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras_optims.Adam(0.01), loss="binary_crossentropy")
        ewma = EWMA("loss", beta=0.9)
        model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[ewma])
        assert len(ewma.history["ewma_loss"]) == len(ewma.history["batch_loss"]) == 3 * 8
        ```
    """

    def __init__(self, monitor="loss", beta=0.9, bias_correction=True):
        super().__init__()
        self.monitor = _monitors(monitor)
        self.beta = checks.check_decay("beta", beta)
        self.bias_correction = checks.check_boolean("bias_correction", bias_correction)
        self.history = {}
        self._reset()

    def _reset(self):
        self.t = 0  # batches since the start of training
        self._values = BatchValues(self.monitor)
        self._average = {name: ExponentialAverage(self.beta, self.bias_correction) for name in self.monitor}
        self._last = {}
        self._seen = set()
        self._warned = False
        self.history = {f"{kind}_{name}": [] for name in self.monitor for kind in ("batch", "ewma")}

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._values.epoch_begin()
        self._last = {}

    def on_train_batch_end(self, batch, logs=None):
        steps, values = self._values.batch_end(self.model, batch, logs)
        self.t += steps
        for name, value in values.items():
            self._seen.add(name)
            reported = self._average[name].update(value, steps)
            logs[f"batch_{name}"] = value
            logs[f"ewma_{name}"] = reported
            self._last[name] = reported
            self.history[f"batch_{name}"].append(value)
            self.history[f"ewma_{name}"].append(reported)

    def on_epoch_end(self, epoch, logs=None):
        missing = [name for name in self.monitor if name not in self._seen]
        if missing and not self._warned:
            self._warned = True
            warnings.warn(
                f"EWMA: {', '.join(repr(m) for m in missing)} never appeared in the "
                "batch logs, so it is not averaged. Batch logs hold: "
                f"{', '.join(sorted(k for k in (logs or {}) if not k.startswith(('val_', 'ewma_'))))}. "
                "(Validation metrics are only logged per epoch.)",
                stacklevel=2,
            )
        if logs is not None:
            for name, value in self._last.items():
                logs[f"ewma_{name}"] = value

    def get_config(self):
        return {
            "monitor": self.monitor[0] if len(self.monitor) == 1 else list(self.monitor),
            "beta": self.beta,
            "bias_correction": self.bias_correction,
        }
