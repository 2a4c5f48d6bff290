"""Drives Keras optimizers step by step and compares every step with
`reference/`.

The core is `compare_steps`: the same seeded gradient sequence goes to an
optimizer (through a driver for its flavour) and to a reference step; after
every step W and each slot are compared. `verify` is its public face for
keras_optims optimizers.
"""

import dataclasses
import functools

import keras
import numpy as np

from keras_optims import backends
from keras_optims.verification import registry
from keras_optims.verification.tolerances import DTYPES, step_tolerance

SHAPES = ((8, 5), (5,))


def gradient_sequence(steps, seed=0, shapes=SHAPES):
    """Seeded gradients whose elements span eight decades (1e-8 … 1), so that
    ε matters for some elements and not for others; also starting weights."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(shape) for shape in shapes]
    scales = [np.logspace(-8, 0, int(np.prod(shape))).reshape(shape) for shape in shapes]
    rng.shuffle(scales[0].reshape(-1))
    grads = [[rng.standard_normal(shape) * scale for shape, scale in zip(shapes, scales)] for _ in range(steps)]
    return weights, grads


@dataclasses.dataclass
class Report:
    """The outcome of one step-by-step comparison.

    `max_abs_errors[i]` and `max_rel_errors[i]` are the worst errors over W
    and the slots after step i + 1 (normwise relative, see `tolerances`);
    `tolerances[i]` the bound at that step.
    """

    name: str
    dtype: str
    max_abs_errors: list
    max_rel_errors: list
    tolerances: list
    note: str = ""

    @property
    def steps(self):
        return len(self.max_rel_errors)

    @property
    def passed(self):
        return bool(self.steps) and all(
            e <= tol for e, tol in zip(self.max_rel_errors, self.tolerances)
        )

    @property
    def worst_step(self):
        """1-based step with the largest error relative to its tolerance."""
        ratios = [e / tol for e, tol in zip(self.max_rel_errors, self.tolerances)]
        return int(np.argmax(ratios)) + 1 if ratios else 0

    @property
    def max_abs_error(self):
        return max(self.max_abs_errors, default=0.0)

    @property
    def max_rel_error(self):
        return max(self.max_rel_errors, default=0.0)

    @property
    def tolerance(self):
        return max(self.tolerances, default=0.0)

    def __repr__(self):
        status = "PASS" if self.passed else "FAIL"
        return (
            f"Report({self.name!r}, {status}, steps={self.steps}, dtype={self.dtype}, "
            f"max_rel_error={self.max_rel_error:.3g}, worst_step={self.worst_step})"
        )


def normwise_errors(actual, desired, scale=None):
    """(max abs error, normwise relative error) of one tensor, relative to
    `scale` (default: max|desired|)."""
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    absolute = float(np.max(np.abs(actual - desired))) if actual.size else 0.0
    if scale is None:
        scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    if scale == 0.0:
        return absolute, (0.0 if absolute == 0.0 else np.inf)
    return absolute, absolute / scale


class Driver:
    """Runs a Keras optimizer step by step and reads back W and its slots:
    the one step driver of the verification suite and the test suite.

    Keras 3 optimizers (ours, Keras's, a user's; any backend) run on Keras
    variables with `optimizer.apply`, tf_keras optimizers on tf.Variables
    with `apply_gradients`.

    Args:
        optimizer: the optimizer to drive.
        slots: the slots to read, by course symbol: a sequence of symbols
            (read with the optimizer's `get_slot(variable, symbol)`), or a
            dict symbol -> attribute holding one variable per model variable
            (Keras's convention, e.g. ``{"s": "_velocities"}``).
        wrap: optional function wrapping the step before it runs (e.g.
            ``tf.function``), called with the step function.
    """

    def __init__(self, optimizer, slots=(), wrap=None):
        self.optimizer = optimizer
        self.slots = dict(slots) if isinstance(slots, dict) else {s: None for s in slots}
        self.tf_keras = type(optimizer).__module__.startswith(("tf_keras", "keras_optims.tf_keras"))
        self.wrap = wrap

    def start(self, weights, dtype):
        """New variables holding `weights` (arrays) in `dtype`."""
        self.dtype = dtype
        if self.tf_keras:
            import tensorflow as tf

            self.variables = [tf.Variable(np.asarray(w).astype(dtype)) for w in weights]
            step = lambda grads: self.optimizer.apply_gradients(zip(grads, self.variables))  # noqa: E731
        else:
            self.variables = [keras.Variable(np.asarray(w).astype(dtype)) for w in weights]
            step = lambda grads: self.optimizer.apply(grads, self.variables)  # noqa: E731
        self._step = self.wrap(step) if self.wrap else step
        return self

    def apply(self, grads):
        """One step with `grads` (arrays, one per variable)."""
        self._step([keras.ops.convert_to_tensor(np.asarray(g).astype(self.dtype)) for g in grads]
                   if not self.tf_keras else [self._tf_constant(g) for g in grads])

    def _tf_constant(self, g):
        import tensorflow as tf

        return tf.constant(np.asarray(g).astype(self.dtype))

    def _slot(self, variable, symbol):
        attribute = self.slots[symbol]
        if attribute is None:
            return self.optimizer.get_slot(variable, symbol)
        optimizer = self.optimizer
        index = optimizer._index_dict[optimizer._var_key(variable)] if self.tf_keras else optimizer._get_variable_index(variable)
        return getattr(optimizer, attribute)[index]

    def state(self):
        """([W per variable], {symbol: [slot per variable]}), as NumPy arrays."""
        weights = [np.array(v.numpy()) for v in self.variables]
        slots = {s: [np.array(keras.ops.convert_to_numpy(self._slot(v, s))) for v in self.variables] for s in self.slots}
        return weights, slots


def compare_steps(name, driver, reference_step, steps, dtype="float64", seed=0, state=(), lr_at=None, note=""):
    """Feeds one gradient sequence to `driver` and to `reference_step`.

    reference_step(W, dW, *state, t, lr=α_t) -> (W, *state) for one
    variable, its state entries named by `state` and starting at zero;
    `lr_at(step)` gives α for the 0-based step. W and every state entry the
    driver also reports (same name) are compared after every step.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    if dtype == "float64" and not backends.float64_available():
        raise ValueError(
            "dtype='float64' under the JAX backend needs 64-bit floats: set JAX_ENABLE_X64=1 "
            "(or call jax.config.update('jax_enable_x64', True)) before any array is created. "
            "`python -m keras_optims.verification` does this itself."
        )
    weights, grads = gradient_sequence(steps, seed)
    # The reference starts from, and is fed, exactly the values the optimizer sees.
    ref_weights = [w.astype(dtype).astype(np.float64) for w in weights]
    ref_state = [tuple(np.zeros_like(w) for _ in state) for w in ref_weights]
    driver.start(weights, dtype)
    abs_errors, rel_errors, tolerances = [], [], []
    peaks = {}  # tensor index -> largest max|reference| so far
    for t, step_grads in enumerate(grads, start=1):
        driver.apply(step_grads)
        lr = lr_at(t - 1)
        for i, g in enumerate(step_grads):
            dW = g.astype(dtype).astype(np.float64)
            W, *new_state = reference_step(ref_weights[i], dW, *ref_state[i], t, lr=lr)
            ref_weights[i], ref_state[i] = W, tuple(new_state)
        actual_weights, actual_slots = driver.state()
        pairs = list(zip(actual_weights, ref_weights))
        for k, slot in enumerate(state):
            if slot in actual_slots:
                pairs += list(zip(actual_slots[slot], [s[k] for s in ref_state]))
        errors = []
        for index, (a, d) in enumerate(pairs):
            peaks[index] = max(peaks.get(index, 0.0), float(np.max(np.abs(d))))
            errors.append(normwise_errors(a, d, peaks[index]))
        abs_errors.append(max(e[0] for e in errors))
        rel_errors.append(max(e[1] for e in errors))
        tolerances.append(step_tolerance(dtype, t))
    return Report(name, dtype, abs_errors, rel_errors, tolerances, note)


def _learning_rate_of(optimizer):
    learning_rate = optimizer._learning_rate
    if isinstance(learning_rate, keras.Variable):
        return float(learning_rate.numpy())
    return learning_rate


def verify(optimizer, steps=100, dtype="float64", seed=0, name=None):
    """Checks a configured keras_optims optimizer against the course's math.

    A fresh copy of `optimizer` (rebuilt from its config; the instance given
    is not touched) updates a (8, 5) and a (5,) variable of `dtype` with a
    seeded gradient sequence for `steps` steps. After every step, W and
    every slot (`v`, `s`) are compared with `reference/`, which derives the
    same steps by hand in float64 from the config's hyperparameters. The
    learning rate may be a float or one of `keras_optims.schedules`.

    Returns a `Report`: `.passed`, `.max_abs_errors` and `.max_rel_errors`
    per step, `.worst_step`. Tolerances: see `keras_optims.verification.tolerances`.

        report = keras_optims.verification.verify(keras_optims.Adam(1e-3))
        assert report.passed, report
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"Argument `steps` must be an integer >= 1. Received: steps={steps!r}")
    spec = registry.reference_for(optimizer)
    config = optimizer.get_config()
    fresh = type(optimizer).from_config(config)
    lr_at = registry.learning_rate_reference(_learning_rate_of(fresh))
    return compare_steps(
        name or config["name"],
        Driver(fresh, spec.slots),
        functools.partial(spec.step, **spec.arguments(config)),
        steps,
        dtype,
        seed,
        state=spec.slots,
        lr_at=lr_at,
    )

