"""The learning-rate range test: one short run in which α grows
geometrically from step to step, each step's own mini-batch loss recorded
and smoothed by the course's bias-corrected average."""

import dataclasses
import math

import keras
import numpy as np

from keras_optims import backends, checks
from keras_optims.callbacks.batch_values import BatchValues
from keras_optims.callbacks.ewma import ExponentialAverage
from keras_optims.tuning import data as data_module
from keras_optims.tuning import flavour
from keras_optims.tuning.between_steps import LearningRateSetter
from keras_optims.tuning.snapshot import TrainingState, before_fit, optimizers_of

# The suggestion rule's margins: the steepest fall is looked for after the
# first SKIP_START of the steps (where the average still leans on its first
# values and α is far too small to move anything) and before the lowest
# smoothed loss (past it the curve rises).
SKIP_START = 0.1
SLOPE_WINDOW = 0.05


def range_learning_rates(min_learning_rate, max_learning_rate, steps):
    """α of step k = 0 … steps − 1: min·(max/min)^(k/(steps − 1)), as float64."""
    k = np.arange(steps, dtype=np.float64)
    return min_learning_rate * (max_learning_rate / min_learning_rate) ** (k / (steps - 1))


@keras.saving.register_keras_serializable(package="keras_optims")
class RangeTestSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """α of the range test as a Keras schedule of the optimizer's step counter:

        k = clip(step − start_step, 0, steps − 1)
        α = min_learning_rate·(max_learning_rate / min_learning_rate)^(k / (steps − 1))

    computed in float64 (float32 under JAX without x64). `start_step` is the
    optimizer's `iterations` when the test starts, so a test run after
    training still starts at the smallest α.
    """

    ops = keras.ops  # TensorFlow's own ops in the tf_keras flavour

    def __init__(self, min_learning_rate, max_learning_rate, steps, start_step=0):
        super().__init__()
        self.min_learning_rate = float(min_learning_rate)
        self.max_learning_rate = float(max_learning_rate)
        self.steps = int(steps)
        self.start_step = int(start_step)

    def __call__(self, step):
        ops, dtype = self.ops, backends.scalar_dtype()
        k = ops.clip(ops.cast(step, dtype) - ops.convert_to_tensor(float(self.start_step), dtype=dtype),
                     0.0, float(self.steps - 1))
        ratio = ops.convert_to_tensor(self.max_learning_rate / self.min_learning_rate, dtype=dtype)
        low = ops.convert_to_tensor(self.min_learning_rate, dtype=dtype)
        return low * ops.power(ratio, k / ops.convert_to_tensor(float(self.steps - 1), dtype=dtype))

    def get_config(self):
        return {"min_learning_rate": self.min_learning_rate, "max_learning_rate": self.max_learning_rate,
                "steps": self.steps, "start_step": self.start_step}


def suggest(learning_rates, smoothed):
    """The suggestion rule: the α at which the smoothed loss falls fastest
    against ln α, the slope at step k taken over the steps k − w … k + w
    (w = 5% of the steps, at least 1: a two-step slope follows the noise of
    the average's first, barely corrected values), looked for after the
    first 10% of the steps and no later than the lowest smoothed loss; None
    where the smoothed loss never falls below its value at the end of that
    first 10%. Returns (α or None, reason)."""
    smoothed = np.asarray(smoothed, dtype=np.float64)
    count = len(smoothed)
    if count < 3:
        return None, f"only {count} step(s) were taken: a slope needs at least 3"
    start = max(1, int(math.ceil(SKIP_START * count)))
    lowest = int(np.argmin(smoothed))
    if smoothed[lowest] >= smoothed[start]:
        return None, (f"the smoothed loss never fell below its value at step {start}: "
                      "try a larger max_learning_rate or more steps")
    if lowest <= start:
        return None, (f"the smoothed loss was lowest at step {lowest}, within the first {start} steps: "
                      "try a smaller min_learning_rate")
    log_rates = np.log(np.asarray(learning_rates, dtype=np.float64))
    w = max(1, round(SLOPE_WINDOW * count))
    steps = np.arange(start, lowest + 1)
    before, after = np.maximum(steps - w, 0), np.minimum(steps + w, count - 1)
    slope = (smoothed[after] - smoothed[before]) / (log_rates[after] - log_rates[before])
    steepest = int(steps[np.argmin(slope)])
    if slope.min() >= 0:
        return None, "the smoothed loss did not fall anywhere between the margins"
    return float(learning_rates[steepest]), (
        f"steepest fall of the smoothed loss, at step {steepest} of {count} "
        f"(slope {slope.min():.4g} per unit of ln α over steps {steepest - w} to {steepest + w})")


@dataclasses.dataclass
class LearningRateRange:
    """What a range test recorded, one entry per step taken.

    Attributes:
        learning_rates: α of each step, min·(max/min)^(k/(steps − 1)).
        losses: each step's own mini-batch loss, as its forward pass computed
            it (not Keras's running mean over the epoch).
        smoothed: the course's bias-corrected average of `losses`,
            V_k / (1 − βᵏ), by `ExponentialAverage(beta)`.
        suggestion: α where the smoothed loss falls fastest (see
            `keras_optims.tuning.range_test.suggest`), or None.
        reason: why `suggestion` is what it is.
        stopped: why the test ended: "steps", "diverged" (the smoothed loss
            passed stop_factor × its lowest), "not finite" or "data exhausted".
        beta: β of the average.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: object
    reason: str
    stopped: str
    beta: float

    def plot(self, ax=None):
        """Loss and smoothed loss against α (log axis), the suggestion marked.
        Returns the matplotlib Axes (matplotlib: the `examples` extra)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError(
                'LearningRateRange.plot needs matplotlib: pip install "keras-optims[examples]" '
                "(or matplotlib alone)."
            ) from error
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.learning_rates, self.losses, color="0.7", lw=1, label="loss of each mini-batch")
        ax.plot(self.learning_rates, self.smoothed, color="C3", lw=2,
                label=f"bias-corrected average, β = {self.beta:g}")
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="C0", ls="--", label=f"suggestion α = {self.suggestion:.3g}")
        ax.set_xscale("log")
        finite = self.smoothed[np.isfinite(self.smoothed)]
        if finite.size:
            low, high = float(finite.min()), float(finite[0])
            ax.set_ylim(low - 0.1 * abs(high - low), max(high, low) + 0.6 * abs(high - low) + 1e-12)
        ax.set_xlabel("learning rate α (log scale)")
        ax.set_ylabel("loss")
        ax.set_title(f"Learning-rate range test (stopped: {self.stopped})")
        ax.legend()
        return ax


def check_range_arguments(min_learning_rate, max_learning_rate, steps, beta, stop_factor):
    """Validates the range test's arguments; returns them canonical."""
    low = checks.check_positive("min_learning_rate", min_learning_rate)
    high = checks.check_positive("max_learning_rate", max_learning_rate)
    if not low < high:
        raise ValueError(
            "Argument `min_learning_rate` must be smaller than `max_learning_rate`. "
            f"Received: min_learning_rate={min_learning_rate!r}, max_learning_rate={max_learning_rate!r}"
        )
    steps = checks.check_count("steps", steps, minimum=2)
    beta = checks.check_decay("beta", beta)
    stop_factor = checks.check_positive("stop_factor", stop_factor)
    if stop_factor <= 1:
        raise ValueError(f"Argument `stop_factor` must be > 1. Received: stop_factor={stop_factor!r}")
    return low, high, steps, beta, stop_factor


class _LearningRateRangeTest:
    """A learning-rate range test inside your own `model.fit`
    (`keras_optims.tf_keras.LearningRateRangeTest` inside a tf_keras `fit`).

    At the start of training it saves the model's whole training state
    (`keras_optims.tuning.snapshot`). Where the optimizer keeps α in a
    variable (a number given as `learning_rate`, ours or Keras's), it sets
    that variable to α_k = min·(max/min)^(k/(steps − 1)) before step k, so the
    step `fit` has already compiled runs unchanged (Keras's built-ins hold α
    in float32, ours in float64); where α is a schedule or a callable (or
    `steps_per_execution` > 1), it swaps in a `RangeTestSchedule` of the same
    values and compiles the step once more. After each batch it records that batch's own
    loss (`BatchValues`) and its bias-corrected average
    V_k / (1 − βᵏ); it stops training after `steps` steps, when the average
    passes `stop_factor` × its lowest, or at a loss that is not finite. At
    the end of training it puts everything back (the weights, the
    optimizer's variables and learning rate, the metrics, the compiled step,
    the random state as it was at the start of training, after `fit` drew
    its first shuffle) and leaves the outcome in `result`, a
    `LearningRateRange`.

    Give `fit` enough epochs for `steps` steps; if the data runs out first,
    `result.stopped` is "data exhausted". `find_learning_rate` does all
    this, and also restores the model when `fit` raises or is interrupted
    (`restore()`: call it yourself in a `finally` around your own `fit`).

    Args:
        min_learning_rate: α of the first step, finite and > 0.
        max_learning_rate: α of step `steps` − 1, > min_learning_rate.
        steps: integer ≥ 2, the most steps the test takes.
        beta: β in [0, 1) of the average of the losses.
        stop_factor: > 1; stop once the average exceeds stop_factor × its lowest.
    """

    def __init__(self, min_learning_rate=1e-7, max_learning_rate=10.0, steps=100, beta=0.98, stop_factor=4.0):
        super().__init__()
        (self.min_learning_rate, self.max_learning_rate, self.steps, self.beta,
         self.stop_factor) = check_range_arguments(min_learning_rate, max_learning_rate, steps, beta, stop_factor)
        self.result = None
        self._state = None
        self._before = None  # find_learning_rate's before_fit(model)

    def on_train_begin(self, logs=None):
        model = flavour.trained_model(self)
        self._state = TrainingState.capture(model, self._before)
        # The innermost optimizer's: a LossScaleOptimizer uses its inner one's.
        optimizer = optimizers_of(model)[-1]
        self._rates = range_learning_rates(self.min_learning_rate, self.max_learning_rate, self.steps)
        self._setter = None
        if flavour.is_variable(optimizer._learning_rate) and LearningRateSetter.supported(model):
            self._setter = LearningRateSetter(optimizer._learning_rate, self._rates)
            # The step fit compiled is the one it compiles without the test:
            # kept (the learning rate variable is restored).
            self._state.keep("train_function")
        else:
            # α cannot be set between steps here: the schedule sets it inside
            # the step, from the optimizer's step counter.
            start = int(optimizer.iterations.numpy())
            schedule = flavour.range_test_schedule_type(model)(
                self.min_learning_rate, self.max_learning_rate, self.steps, start)
            object.__setattr__(optimizer, "_learning_rate", schedule)
            model.make_train_function(force=True)
        self._values = BatchValues(["loss"])
        self._average = ExponentialAverage(self.beta)
        self._losses, self._smoothed = [], []
        self._lowest = math.inf
        self._stopped = None
        self.result = None

    def on_epoch_begin(self, epoch, logs=None):
        self._values.epoch_begin()

    def on_train_batch_begin(self, batch, logs=None):
        if self._setter is not None and self._stopped is None:
            self._setter(min(len(self._losses), self.steps - 1))

    def on_train_batch_end(self, batch, logs=None):
        if self._stopped is not None:
            return
        model = flavour.trained_model(self)
        steps, values = self._values.batch_end(model, batch, logs)
        if "loss" not in values:
            raise ValueError("The learning-rate range test needs the model's loss in the batch logs.")
        loss = values["loss"]
        for _ in range(steps):
            self._losses.append(loss)
            self._smoothed.append(self._average.update(loss) if math.isfinite(loss) else loss)
        smoothed = self._smoothed[-1]
        if not math.isfinite(loss):
            self._stopped = "not finite"
        else:
            self._lowest = min(self._lowest, smoothed)
            if self._lowest > 0 and smoothed > self.stop_factor * self._lowest:
                self._stopped = "diverged"
            elif len(self._losses) >= self.steps:
                self._stopped = "steps"
        if self._stopped is not None:
            model.stop_training = True

    def on_train_end(self, logs=None):
        self.finish()

    def finish(self):
        """Builds `result` from what was recorded and restores the model
        (`on_train_end` calls it; `model.history` is left to `restore`,
        since `fit` returns it)."""
        if self._state is None or self.result is not None:
            return self.result
        count = len(self._losses)
        learning_rates = self._rates[:count]
        smoothed = np.array(self._smoothed, dtype=np.float64)
        if self._stopped in ("not finite", "diverged"):
            suggestion, reason = suggest(learning_rates[:-1], smoothed[:-1])
        else:
            suggestion, reason = suggest(learning_rates, smoothed)
        self.result = LearningRateRange(
            learning_rates=learning_rates,
            losses=np.array(self._losses, dtype=np.float64),
            smoothed=smoothed,
            suggestion=suggestion,
            reason=reason,
            stopped=self._stopped or "data exhausted",
            beta=self.beta,
        )
        self._state.restore(history=False)
        return self.result

    def restore(self):
        """Puts the model's training state back as it was before the test."""
        if self._state is not None:
            self._state.restore()


LearningRateRangeTest = flavour.callback_type(_LearningRateRangeTest)


def find_learning_rate(model, x, y=None, *, batch_size=None, min_learning_rate=1e-7, max_learning_rate=10.0,
                       steps=100, beta=0.98, stop_factor=4.0, verbose="auto"):
    """Runs a learning-rate range test on a compiled Keras model.

    For k = 0 … steps − 1 it takes one training step with

        α_k = min_learning_rate·(max_learning_rate / min_learning_rate)^(k / (steps − 1))

    with the model's own optimizer (any Keras 3 optimizer, whatever its
    learning rate: a number or a schedule), records that step's own
    mini-batch loss and its bias-corrected average
    V_k / (1 − βᵏ), and stops early when the average passes
    `stop_factor` × its lowest ("diverged"), at a loss that is not finite,
    or when the data runs out. Then it puts the model back as it found it,
    bit for bit, also when it raises or is interrupted: weights, optimizer
    variables, learning rate or schedule, compiled metrics, random state
    (`keras_optims.tuning.snapshot`). Training afterwards gives the numbers
    it would have given without the test.

    Args:
        model: a compiled `keras.Model` (fresh or already trained), or a
            compiled tf_keras model.
        x, y: training data as `fit` takes it: arrays, a `tf.data.Dataset`,
            a `keras.utils.PyDataset` or a generator (then `y` is None).
        batch_size: for arrays, as in `fit` (default 32).
        min_learning_rate: α of the first step, finite and > 0.
        max_learning_rate: α of the last step, > min_learning_rate.
        steps: integer ≥ 2, the most steps taken.
        beta: β in [0, 1) of the average; 0.98 averages about 50 steps.
        stop_factor: > 1, how far above its lowest the average may climb.
        verbose: as in `fit`.

    Returns:
        A `LearningRateRange`.

    Examples:
        ```python
        import keras
        import numpy as np
        import keras_optims
        from keras_optims.tuning import find_learning_rate

        x = np.random.default_rng(0).standard_normal((256, 2))
        y = x @ np.array([[2.0], [-1.0]])
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras_optims.GradientDescent(), loss="mse")
        before = [w.copy() for w in model.get_weights()]
        found = find_learning_rate(model, x, y, batch_size=32, steps=60, verbose=0)
        assert len(found.losses) == len(found.learning_rates) <= 60
        assert all((a == b).all() for a, b in zip(model.get_weights(), before))
        ```
    """
    low, high, steps, beta, stop_factor = check_range_arguments(
        min_learning_rate, max_learning_rate, steps, beta, stop_factor)
    data_module.check_compiled(model)
    plan = data_module.plan(x, y, batch_size, steps)
    callback = flavour.callback_type(_LearningRateRangeTest, flavour.is_tf_keras(model))(low, high, steps, beta, stop_factor)
    callback._before = before_fit(model)
    try:
        model.fit(x, y, batch_size=plan.batch_size, epochs=plan.epochs, callbacks=[callback], verbose=verbose,
                  shuffle=plan.examples is not None)
        return callback.finish()
    finally:
        callback.restore()
