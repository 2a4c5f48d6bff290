"""Learning-rate decay per epoch, as the course describes it.

The course lowers α once per epoch. A Keras schedule is called with the
optimizer's step counter, so each schedule here takes `steps_per_epoch` and
works with the 0-based epoch

    e = ⌊step / steps_per_epoch⌋

(integer division, exact at any step). The schedules work for any Keras
optimizer, ours or the built-ins, on every Keras 3 backend (they compute with
`keras.ops`), in eager mode, inside `tf.function` and inside XLA-compiled
training steps. Their values are float64 tensors (float32 under JAX without
``jax_enable_x64``, where float64 does not exist): a float64 model gets α
exactly, and every optimizer rounds it once to each variable's dtype.

| schedule | α at epoch e | Keras built-in that gives the same values |
| --- | --- | --- |
| `InverseTimeEpochDecay` | α₀ / (1 + decay_rate·⌊e/T⌋) | `InverseTimeDecay(α₀, decay_steps=steps_per_epoch·T, decay_rate=…, staircase=True)` |
| `ExponentialEpochDecay` | α₀·rateᵉ | `ExponentialDecay(α₀, decay_steps=steps_per_epoch, decay_rate=rate, staircase=True)` |
| `InverseSqrtEpochDecay` | α₀·k/√(e + 1) | none |
| `EpochStaircase` | values[i] for boundaries[i−1] ≤ e < boundaries[i] | `PiecewiseConstantDecay([b·steps_per_epoch − 1 for b in boundaries], values)` |

The built-ins compute in float32, so they agree to float32 rounding.

Which epoch is "epoch 1"? The course uses two numberings and this package a
third; `epoch_numbering` chooses the number n each formula above sees in
place of e (every schedule but `InverseSqrtEpochDecay`, which counts from 1):

| `epoch_numbering` | n in epoch e (0-based) | α₀/(1 + n) over the first epochs | where it comes from |
| --- | --- | --- | --- |
| `"zero_based"` (default) | n = e | α₀, α₀/2, α₀/3, … | Keras's 0-based epochs |
| `"lecture"` | n = e + 1 | α₀/2, α₀/3, α₀/4, … | the lecture: `epoch_num` counts from 1 |
| `"assignment"` | n = max(e − 1, 0) | α₀, α₀, α₀/2, α₀/3, … | the programming assignment: α for epoch i + 1 is computed after epoch i from i |

The assignment trains epoch i with the rate its loop computed after epoch
i − 1 (`learning_rate = update_lr(learning_rate0, i, decay_rate)` or
`schedule_lr_decay(…, i, …, time_interval)` at the end of epoch i), so
epochs 0 and 1 both use α₀; only `"assignment"` reproduces its printed costs.
The Keras built-ins in the table above match the `"zero_based"` numbering.
"""

import keras

from keras_optims import backends
from keras_optims import checks


ZERO_BASED, LECTURE, ASSIGNMENT = "zero_based", "lecture", "assignment"
EPOCH_NUMBERINGS = (ZERO_BASED, LECTURE, ASSIGNMENT)

__all__ = ["EpochStaircase", "ExponentialEpochDecay", "InverseSqrtEpochDecay", "InverseTimeEpochDecay"]


def _integer_dtype():
    """int64 where it exists (not under JAX without ``jax_enable_x64``)."""
    return "int64" if backends.float64_available() else "int32"


# The arguments every epoch schedule documents alike, spliced into each
# docstring (`EpochSchedule.__init_subclass__`).
ARGUMENT_DOCS = {
    "steps_per_epoch": """steps_per_epoch: integer ≥ 1, the number of optimizer steps per
            epoch (in `fit`: ⌈examples / batch_size⌉).""",
    "name": "name: optional name scope for the computation.",
    "epoch_numbering": """epoch_numbering: "zero_based" (default), "lecture" or
            "assignment": which epoch the formula calls n (module docstring).""",
}


class EpochSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base class: maps the step to the 0-based epoch e, e to the epoch
    number n of `epoch_numbering`, and calls `at_epoch(n)`.

    Subclasses validate their own arguments, pass them on as keywords (they
    become attributes and the config) and implement `at_epoch(n)`
    (``n``: an integer scalar tensor; returns a float64 scalar tensor),
    computing with `self.ops`: `keras.ops` here, TensorFlow's own ops in the
    tf_keras flavour.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for argument, text in ARGUMENT_DOCS.items():
            if cls.__doc__:
                cls.__doc__ = cls.__doc__.replace("{{" + argument + "}}", text)

    ops = keras.ops

    def __init__(self, steps_per_epoch, name=None, epoch_numbering=ZERO_BASED, **arguments):
        super().__init__()
        self.steps_per_epoch = checks.check_count("steps_per_epoch", steps_per_epoch)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Argument `name` must be a string or None. Received: name={name!r}")
        self.name = name
        self.epoch_numbering = checks.check_choice("epoch_numbering", epoch_numbering, EPOCH_NUMBERINGS)
        self._arguments = arguments
        for key, value in arguments.items():
            setattr(self, key, value)

    def epoch(self, step):
        """⌊step / steps_per_epoch⌋ as an integer tensor (int64 where it exists)."""
        return self.ops.floor_divide(self.ops.cast(step, _integer_dtype()), self.steps_per_epoch)

    def epoch_number(self, epoch):
        """n, the number the formula sees in the 0-based epoch e: e, e + 1
        ("lecture") or max(e − 1, 0) ("assignment")."""
        if self.epoch_numbering == LECTURE:
            return epoch + 1
        if self.epoch_numbering == ASSIGNMENT:
            return self.ops.maximum(epoch - 1, 0)
        return epoch

    def real(self, x):
        """`x` (an integer tensor or a Python float) as a float64 tensor,
        exactly (a Python float is not rounded through float32)."""
        dtype = backends.scalar_dtype()
        if isinstance(x, float):
            return self.ops.convert_to_tensor(x, dtype=dtype)
        return self.ops.cast(x, dtype)

    def __call__(self, step):
        with keras.name_scope(self.name or type(self).__name__):
            return self.at_epoch(self.epoch_number(self.epoch(step)))

    def at_epoch(self, n):
        raise NotImplementedError

    def get_config(self):
        return {
            **self._arguments,
            "steps_per_epoch": self.steps_per_epoch,
            "epoch_numbering": self.epoch_numbering,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="keras_optims")
class InverseTimeEpochDecay(EpochSchedule):
    """The course's decay: α = α₀ / (1 + decay_rate·epoch), optionally in stairs.

        α = α₀ / (1 + decay_rate·⌊n / T⌋)

    n is the epoch number of `epoch_numbering` (the 0-based epoch e by
    default). With `time_interval` T = 1 this is the formula of the course
    notes (the assignment's `update_lr`); with T > 1 the rate drops every T
    epochs (a staircase: the assignment's `schedule_lr_decay`).

    | symbol | argument                |
    | ------ | ----------------------- |
    | α₀     | `initial_learning_rate` |
    |        | `decay_rate` (≥ 0)      |
    | T      | `time_interval` (≥ 1)   |
    | n      | `epoch_numbering`       |

    Equivalent Keras built-in (`epoch_numbering="zero_based"`):
    `keras.optimizers.schedules.InverseTimeDecay(α₀, decay_steps=steps_per_epoch·T,
    decay_rate=decay_rate, staircase=True)`.

    The programming assignment's runs, exactly (`steps_per_epoch` = ⌈m / 64⌉):
    `InverseTimeEpochDecay(α₀, 1, steps_per_epoch, epoch_numbering="assignment")`
    for `decay=update_lr`, and with `time_interval=1000` for
    `decay=schedule_lr_decay`.

    Args:
        initial_learning_rate: α₀, finite and > 0.
        decay_rate: finite and ≥ 0 (0 keeps α₀).
        {{steps_per_epoch}}
        time_interval: integer ≥ 1, the epochs between two decreases.
        {{name}}
        {{epoch_numbering}}
    """

    def __init__(
        self, initial_learning_rate, decay_rate, steps_per_epoch, time_interval=1, name=None,
        epoch_numbering=ZERO_BASED,
    ):
        super().__init__(
            steps_per_epoch,
            name,
            epoch_numbering,
            initial_learning_rate=checks.check_positive("initial_learning_rate", initial_learning_rate),
            decay_rate=checks.check_nonnegative("decay_rate", decay_rate),
            time_interval=checks.check_count("time_interval", time_interval),
        )

    def at_epoch(self, n):
        periods = self.real(self.ops.floor_divide(n, self.time_interval))
        return self.initial_learning_rate / (1.0 + self.decay_rate * periods)



@keras.saving.register_keras_serializable(package="keras_optims")
class ExponentialEpochDecay(EpochSchedule):
    """Exponential decay per epoch.

        α = α₀·rateⁿ

    n is the epoch number of `epoch_numbering` (the 0-based epoch e by
    default). The course's example rate is 0.95.

    Equivalent Keras built-in (`epoch_numbering="zero_based"`):
    `keras.optimizers.schedules.ExponentialDecay(α₀, decay_steps=steps_per_epoch,
    decay_rate=rate, staircase=True)`.

    Args:
        initial_learning_rate: α₀, finite and > 0.
        rate: the factor per epoch, in (0, 1] (1 keeps α₀).
        {{steps_per_epoch}}
        {{name}}
        {{epoch_numbering}}
    """

    def __init__(self, initial_learning_rate, rate, steps_per_epoch, name=None, epoch_numbering=ZERO_BASED):
        super().__init__(
            steps_per_epoch,
            name,
            epoch_numbering,
            initial_learning_rate=checks.check_positive("initial_learning_rate", initial_learning_rate),
            rate=checks.check_factor("rate", rate),
        )

    def at_epoch(self, n):
        return self.initial_learning_rate * self.ops.power(self.real(self.rate), self.real(n))



@keras.saving.register_keras_serializable(package="keras_optims")
class InverseSqrtEpochDecay(EpochSchedule):
    """Decay with the inverse square root of the epoch.

        α = α₀·k / √n,   n = e + 1

    The course writes α = k·α₀/√epoch_num with epochs counted from 1 (the
    lecture's numbering): in the 0-based epoch e, n = e + 1, so the first
    epoch has α₀·k. The other numberings would divide by √0 in the first
    epoch, so this schedule takes `epoch_numbering="lecture"` only.

    No Keras built-in gives this schedule.

    Args:
        initial_learning_rate: α₀, finite and > 0.
        k: the constant factor, finite and > 0.
        {{steps_per_epoch}}
        {{name}}
        epoch_numbering: "lecture" (the default and the only one).
    """

    def __init__(self, initial_learning_rate, k, steps_per_epoch, name=None, epoch_numbering=LECTURE):
        if epoch_numbering in EPOCH_NUMBERINGS and epoch_numbering != LECTURE:
            raise ValueError(
                "Argument `epoch_numbering` must be 'lecture' for InverseSqrtEpochDecay: α₀·k/√n counts "
                f"epochs from 1 (n = 0 would divide by zero). Received: epoch_numbering={epoch_numbering!r}"
            )
        super().__init__(
            steps_per_epoch,
            name,
            epoch_numbering,
            initial_learning_rate=checks.check_positive("initial_learning_rate", initial_learning_rate),
            k=checks.check_positive("k", k),
        )

    def at_epoch(self, n):
        return self.initial_learning_rate * self.k / self.ops.sqrt(self.real(n))



@keras.saving.register_keras_serializable(package="keras_optims")
class EpochStaircase(EpochSchedule):
    """Piecewise-constant learning rate over epochs ("discrete staircase").

        α = values[0]   for n < boundaries[0]
            values[i]   for boundaries[i−1] ≤ n < boundaries[i]
            values[-1]  for n ≥ boundaries[-1]

    n is the epoch number of `epoch_numbering` (the 0-based epoch e by
    default). A boundary is the first epoch of the next value:
    `boundaries=[10, 20]`, `values=[0.1, 0.01, 0.001]` uses 0.1 for epochs
    0–9, 0.01 for 10–19 and 0.001 from epoch 20 on.

    Equivalent Keras built-in (`epoch_numbering="zero_based"`):
    `keras.optimizers.schedules.PiecewiseConstantDecay([b·steps_per_epoch − 1
    for b in boundaries], values)` (Keras's boundaries are the last step of
    each value).

    Args:
        boundaries: strictly increasing integers ≥ 1 (epochs).
        values: one more value than boundaries, each finite and > 0.
        {{steps_per_epoch}}
        {{name}}
        {{epoch_numbering}}
    """

    def __init__(self, boundaries, values, steps_per_epoch, name=None, epoch_numbering=ZERO_BASED):
        for argument, sequence in (("boundaries", boundaries), ("values", values)):
            if not isinstance(sequence, (list, tuple)):
                raise TypeError(
                    f"Argument `{argument}` must be a list. Received: {argument}={sequence!r}"
                )
        checked_boundaries = [checks.check_count(f"boundaries[{i}]", b) for i, b in enumerate(boundaries)]
        checked_values = [checks.check_positive(f"values[{i}]", v) for i, v in enumerate(values)]
        super().__init__(
            steps_per_epoch, name, epoch_numbering, boundaries=checked_boundaries, values=checked_values
        )
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"Argument `boundaries` must be strictly increasing. Received: boundaries={boundaries!r}")
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                "Argument `values` must have one more entry than `boundaries` "
                f"({len(self.boundaries) + 1}). Received: values={values!r}"
            )

    def at_epoch(self, n):
        boundaries = self.ops.convert_to_tensor(self.boundaries, dtype=_integer_dtype())
        passed = self.ops.sum(self.ops.cast(n >= boundaries, "int32"))
        values = self.ops.convert_to_tensor(self.values, dtype=backends.scalar_dtype())
        return self.ops.take(values, passed)
