"""Compares an optimizer's every step with `reference/`.

The core is `compare_steps`: the same seeded gradient sequence goes to an
optimizer (through a driver of `drivers`) and to a reference step; after every step W
and each slot are compared, and the first mismatch is kept. Its public
faces: `check` (any Keras optimizer against any NumPy reference step) and
`verify` (the package's optimizers and Keras's SGD, RMSprop and Adam against
the references in `reference/`).
"""

import dataclasses
import functools
import inspect
import operator

import keras
import numpy as np

from keras_optims import backends
from keras_optims.verification import registry
from keras_optims.verification.drivers import Driver, run_steps
from keras_optims.verification.reference import forms
from keras_optims.verification.tolerances import DTYPES, step_tolerance

SHAPES = ((8, 5), (5,))


def gradient_sequence(steps, seed=0, shapes=SHAPES, scale=1.0):
    """Seeded gradients whose elements span eight decades (`scale` · 1e-8 …
    `scale`), so that ε matters for some elements and not for others; also
    starting weights. A variable of one element (a scalar) gets gradients of
    size `scale`; an empty one, empty gradients."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(shape) for shape in shapes]
    spans = [np.logspace(-8, 0, n) if n > 1 else np.ones(n) for n in (int(np.prod(shape)) for shape in shapes)]
    spans = [scale * span.reshape(shape) for shape, span in zip(shapes, spans)]
    rng.shuffle(spans[0].reshape(-1))
    grads = [[rng.standard_normal(shape) * span for shape, span in zip(shapes, spans)] for _ in range(steps)]
    return weights, grads


@dataclasses.dataclass
class Mismatch:
    """Where a comparison first failed: after `step` (1-based), `tensor` ("W"
    or a state key) of model variable `variable` differed from the reference
    by more than the tolerance. Relative errors are taken against `scale`,
    the largest max|desired| that tensor has had so far (see `tolerances`)."""

    step: int
    tensor: str
    variable: int
    actual: np.ndarray
    desired: np.ndarray
    max_abs_error: float
    rel_error: float
    tolerance: float
    scale: float

    def where(self):
        return f"step {self.step}, {self.tensor} of variable {self.variable} (shape {tuple(self.desired.shape)})"

    def __str__(self):
        return (f"{self.where()}: max abs difference {self.max_abs_error:.3g}, normwise relative "
                f"{self.rel_error:.3g} > tolerance {self.tolerance:.3g}")


@dataclasses.dataclass
class Report:
    """The outcome of one step-by-step comparison.

    `max_abs_errors[i]` and `max_rel_errors[i]` are the worst errors over W
    and the state after step i + 1 (normwise relative, see `tolerances`);
    `tolerances[i]` the bound at that step; `first_failure` the first
    `Mismatch` (None when it passed); `note` says what was checked (for
    `verify`, which formula). When `verify`, or `check` against one of the
    known forms of `reference.forms`, fails, `identification` is what
    `identify` found (`Identification`) and `identified` its `best` form's
    id (None when no single form matches); the report's text adds its
    clause ("it computes Adam's Keras form (epsilon hat) at every step, to
    3e-16").
    """

    name: str
    dtype: str
    max_abs_errors: list
    max_rel_errors: list
    tolerances: list
    note: str = ""
    first_failure: Mismatch = None
    identification: object = None

    @property
    def identified(self):
        return None if self.identification is None else self.identification.best

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
        text = (
            f"Report({self.name!r}, {status}, steps={self.steps}, dtype={self.dtype}, "
            f"max_rel_error={self.max_rel_error:.3g}, tolerance={self.tolerance:.3g}, "
            f"worst_step={self.worst_step}"
        )
        if self.first_failure is not None:
            text += f", first failure at {self.first_failure}"
        if self.identification is not None:
            text += f"; {self.identification.clause()}"
        if self.note:
            text += f", checked: {self.note}"
        return text + ")"


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


def _check_dtype(dtype):
    if dtype not in DTYPES:
        raise ValueError(f"Argument `dtype` must be one of {DTYPES}. Received: dtype={dtype!r}")
    if dtype == "float64" and not backends.float64_available():
        raise ValueError(
            "dtype='float64' under the JAX backend needs 64-bit floats: set JAX_ENABLE_X64=1 "
            "(or call jax.config.update('jax_enable_x64', True)) before any array is created. "
            "`python -m keras_optims.verification` does this itself."
        )


def _compare(name, driver, reference, steps, dtype, seed, keys, init, note="", shapes=SHAPES, gradient_scale=1.0):
    """The core of `compare_steps` and `check`.

    reference(W, dW, state, t) -> (W, state) for one variable, `state` a dict
    of float64 arrays starting at init(W); the entries named by `keys` are
    compared with the driver's slots of the same name after every step."""
    _check_dtype(dtype)
    shapes, gradient_scale = _check_gradients(shapes, gradient_scale)
    weights, grads = gradient_sequence(steps, seed, shapes, gradient_scale)
    # The reference starts from, and is fed, exactly the values the optimizer sees.
    ref_weights = [w.astype(dtype).astype(np.float64) for w in weights]
    ref_state = [_state(init(W.copy()), keys, "init(W)", i) for i, W in enumerate(ref_weights)]
    driver.start(weights, dtype)
    states = run_steps(driver, grads)
    abs_errors, rel_errors, tolerances = [], [], []
    peaks, failure = {}, None  # peaks: tensor -> largest max|reference| so far
    for t, (step_grads, (actual_weights, actual_slots)) in enumerate(zip(grads, states), start=1):
        for i, g in enumerate(step_grads):
            dW = g.astype(dtype).astype(np.float64)
            state = {k: np.array(v, dtype=np.float64) for k, v in ref_state[i].items()}
            result = reference(ref_weights[i].copy(), dW, state, t)
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TypeError(f"The reference must return (W, state); at step {t} it returned {type(result).__name__}.")
            W, state = result
            ref_weights[i] = np.asarray(W, np.float64)
            if ref_weights[i].shape != dW.shape:
                raise ValueError(f"The reference returned W of shape {ref_weights[i].shape} for variable {i} "
                                 f"of shape {dW.shape} at step {t}.")
            ref_state[i] = _state(state, keys, f"the reference's state at step {t}", i)
        tensors = [("W", i, actual_weights[i], ref_weights[i]) for i in range(len(ref_weights))]
        tensors += [(k, i, actual_slots[k][i], ref_state[i][k]) for k in keys for i in range(len(ref_weights))]
        tolerance = step_tolerance(dtype, t)
        errors = []
        for label, i, actual, desired in tensors:
            peaks[label, i] = max(peaks.get((label, i), 0.0), float(np.max(np.abs(desired), initial=0.0)))
            errors.append(normwise_errors(actual, desired, peaks[label, i]))
        abs_errors.append(max(e[0] for e in errors))
        rel_errors.append(max(e[1] for e in errors))
        tolerances.append(tolerance)
        if failure is None and rel_errors[-1] > tolerance:
            worst = int(np.argmax([e[1] for e in errors]))
            label, i, actual, desired = tensors[worst]
            failure = Mismatch(t, label, i, np.array(actual, np.float64), np.array(desired), *errors[worst], tolerance,
                               peaks[label, i])
    return Report(name, dtype, abs_errors, rel_errors, tolerances, note, failure)


def _state(state, keys, what, variable):
    """`state` as a dict of float64 arrays, checked to hold every key."""
    if not isinstance(state, dict):
        raise TypeError(f"{what} must be a dict of arrays; for variable {variable} it is {type(state).__name__}.")
    missing = [k for k in keys if k not in state]
    if missing:
        raise KeyError(f"{what} has no {', '.join(map(repr, missing))} for variable {variable}; "
                       f"`slots` names {', '.join(map(repr, keys))}.")
    return {k: np.asarray(v, np.float64) for k, v in state.items()}


def compare_steps(name, driver, reference_step, steps, dtype="float64", seed=0, state=(), lr_at=None, note="",
                  shapes=SHAPES, gradient_scale=1.0):
    """Feeds one gradient sequence to `driver` and to `reference_step`.

    reference_step(W, dW, *state, t, lr=α_t) -> (W, *state) for one
    variable, its state entries named by `state` and starting at zero;
    `lr_at(step)` gives α for the 0-based step. W and every state entry the
    driver also reports (same name) are compared after every step; the
    variables have `shapes` and their gradients reach `gradient_scale`
    (see `gradient_sequence`).
    """

    def reference(W, dW, entries, t):
        W, *new = reference_step(W, dW, *(entries[k] for k in state), t, lr=lr_at(t - 1))
        return W, dict(zip(state, new))

    compared = tuple(k for k in state if k in driver.slots)
    init = lambda W: {k: np.zeros_like(W) for k in state}  # noqa: E731
    return _compare(name, driver, reference, steps, dtype, seed, compared, init, note, shapes, gradient_scale)


def check(optimizer, reference, *, slots, init=None, steps=100, dtype="float64", seed=0, shapes=SHAPES,
          gradient_scale=1.0):
    """Checks any Keras optimizer step by step against a NumPy reference step.

    The optimizer (new, not yet built: it is built on the check's variables)
    updates variables of `shapes` (default a (8, 5) and a (5,)) and `dtype`
    with a seeded gradient sequence whose elements span eight decades;
    `reference` takes the same steps in float64. After every step the weights and every state entry
    named in `slots` are compared (normwise relative error against the
    tolerance of `dtype`, see `keras_optims.verification.tolerances`).

    Args:
        optimizer: a Keras 3 optimizer (ours, Keras's, a user's subclass).
        reference: ``reference(W, dW, state, t) -> (W, state)``, one step
            for one variable: float64 NumPy arrays, `state` a dict, `t` 1 on
            the first step. It may modify its arguments. If it has an `lr`
            parameter, it is also given ``lr=`` α as the optimizer holds it
            for step t (its learning-rate variable, or its schedule at step
            t − 1), widened exactly to a Python float. Keras keeps α in a
            float32 variable, where the course's 0.1 is 0.10000000149011612:
            a reference that takes `lr` compares at the course's values.
        slots: dict mapping each key of `state` to where the optimizer keeps
            it: the name of an optimizer attribute holding one variable per
            model variable (Keras's convention: ``{"m": "_momentums"}``) or a
            callable ``(optimizer, variable) -> array``. ``{}`` compares the
            weights only.
        init: ``init(W) -> state``, the reference's starting state (default:
            zeros of W's shape for every key of `slots`).
        steps, dtype, seed: how many steps, "float64" or "float32", the seed
            of the weights and gradients.
        shapes: the shapes of the variables updated (``()`` is a scalar,
            ``(0,)`` an empty variable).
        gradient_scale: the largest gradient size; each variable's
            elements span eight decades below it, so ε matters for some.

    Returns a `Report`: `.passed`, the worst error and tolerance, and
    `.first_failure` (step, tensor, variable, values). When `reference` is
    one of the known forms of `keras_optims.verification.reference.forms`
    (or a `functools.partial` of one fixing its hyperparameters) and the
    check fails, `.identified` names the form the optimizer computes
    instead (see `identify`). The harness casts
    nothing through float32: weights and gradients reach the optimizer as
    NumPy arrays of `dtype`.

    Examples:
        A plain Keras subclass, Adagrad (G ← G + dW²; W ← W − α·dW / (√G +
        ε)), at α = 0.1:

        ```python
        import keras
        import numpy as np
        from keras import ops
        from keras_optims.verification import check


        class MyAdagrad(keras.optimizers.Optimizer):
            def __init__(self, learning_rate=0.1, epsilon=1e-7, **kwargs):
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


        def adagrad_step(W, dW, state, t, lr):  # lr: α as the optimizer holds it
            G = state["G"] + dW**2
            return W - lr * dW / (np.sqrt(G) + 1e-7), {"G": G}


        report = check(MyAdagrad(0.1), adagrad_step, slots={"G": "accumulators"})
        assert report.passed, report
        ```
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"Argument `optimizer` must be a Keras optimizer. Received: optimizer={optimizer!r}")
    if getattr(optimizer, "built", False):
        raise ValueError(
            "Argument `optimizer` must be a new optimizer: check() builds it on its own variables, and "
            f"this one is already built. Received: optimizer={optimizer!r}"
        )
    if not callable(reference):
        raise TypeError(f"Argument `reference` must be a function (W, dW, state, t) -> (W, state). "
                        f"Received: reference={reference!r}")
    if not isinstance(slots, dict) or not all(
        isinstance(k, str) and (isinstance(v, str) or callable(v)) for k, v in slots.items()
    ):
        raise TypeError("Argument `slots` must be a dict mapping each state key to an optimizer attribute "
                        f"name or a callable (optimizer, variable) -> array. Received: slots={slots!r}")
    if init is not None and not callable(init):
        raise TypeError(f"Argument `init` must be a function W -> state or None. Received: init={init!r}")
    _check_steps(steps)
    keys = tuple(slots)
    init = init or (lambda W: {k: np.zeros_like(W) for k in keys})
    name = getattr(optimizer, "name", type(optimizer).__name__)
    given = reference
    if _takes_learning_rate(reference):
        reference = functools.partial(_given_learning_rate, reference, optimizer, {})
    report = _compare(name, Driver(optimizer, slots), reference, steps, dtype, seed, keys, init,
                      shapes=shapes, gradient_scale=gradient_scale)
    form = forms.form_of(getattr(given, "func", given))
    if form is not None and not report.passed:
        # The known form's hyperparameters as the partial fixes them; α, if not, from the optimizer.
        # (α is the optimizer's, as the comparison used it).
        fixed = {NAMES_OF[k]: v for k, v in getattr(given, "keywords", {}).items() if k in NAMES_OF}
        try:
            report.identification = _identify(type(optimizer), optimizer.get_config(), form.algorithm, steps, dtype,
                                              seed, shapes, gradient_scale, fixed)
        except (TypeError, ValueError) as error:  # a class that does not rebuild from its config
            report.note = f"not identified: rebuilding the optimizer from its config raised {error!r}"
    return report


# The hyperparameters of `reference.forms`, by the names `identify` takes.
NAMES_OF = {"beta": "beta", "beta1": "beta_1", "beta2": "beta_2", "eps": "epsilon"}


def _identify(cls, config, algorithm, steps, dtype, seed, shapes, gradient_scale, hyperparameters=None):
    """`identify` on a new optimizer rebuilt from `config`, for a failed
    report: the same steps, gradients and variables."""
    from keras_optims.verification.identification import identify

    return identify(cls.from_config(config), algorithm, steps=steps, dtype=dtype, seed=seed, shapes=shapes,
                    gradient_scale=gradient_scale, **(hyperparameters or {}))


def _check_gradients(shapes, gradient_scale):
    """`shapes` as a tuple of shape tuples and `gradient_scale` as a float,
    or a ValueError naming the argument."""
    try:
        checked = tuple(tuple(operator.index(n) for n in shape) for shape in shapes)
    except TypeError:
        checked = None
    if not checked or any(n < 0 for shape in checked for n in shape):
        raise ValueError("Argument `shapes` must be a non-empty sequence of shapes (tuples of sizes >= 0; "
                         f"() is a scalar). Received: shapes={shapes!r}")
    if isinstance(gradient_scale, bool) or not isinstance(gradient_scale, (int, float)) or not (
        0 < gradient_scale < float("inf")
    ):
        raise ValueError(f"Argument `gradient_scale` must be a positive finite number. "
                         f"Received: gradient_scale={gradient_scale!r}")
    return checked, float(gradient_scale)


def _check_steps(steps):
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"Argument `steps` must be an integer >= 1. Received: steps={steps!r}")


def _takes_learning_rate(reference):
    """Whether `reference` has an `lr` parameter that can be passed by name."""
    try:
        parameter = inspect.signature(reference).parameters.get("lr")
    except (TypeError, ValueError):  # no signature to read (a builtin): it takes what `check` documents
        return False
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


def _given_learning_rate(reference, optimizer, read, W, dW, state, t):
    """`reference`'s step t given ``lr=`` α as `optimizer` holds it for step t
    (read once per step into `read`)."""
    if t not in read:
        read.clear()
        read[t] = _learning_rate_at(optimizer, t)
    return reference(W, dW, state, t, lr=read[t])


def _learning_rate_at(optimizer, t):
    """α as a Keras optimizer holds it for step t (1, 2, …), as a Python
    float: its schedule's value at step t − 1 (Keras evaluates it at the
    step count before the update), else its learning-rate variable's value
    (or what a callable learning rate returns)."""
    learning_rate = optimizer._learning_rate
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = learning_rate(t - 1)
    elif callable(learning_rate) and not isinstance(learning_rate, keras.Variable):
        learning_rate = learning_rate()
    return float(keras.ops.convert_to_numpy(learning_rate))


def verify(optimizer, steps=100, dtype="float64", seed=0, name=None, *, shapes=SHAPES, gradient_scale=1.0):
    """Checks a configured optimizer against hand-derived NumPy math: one of
    keras_optims's (against the course's rule) or Keras's `SGD` (with and
    without momentum, with and without nesterov), `RMSprop` (no momentum, not
    centered) or `Adam` (no amsgrad), against the formulas Keras documents
    (`reference/`; the report's `note` says which).

    A fresh copy of `optimizer` (rebuilt from its config; the instance given
    is not touched) updates variables of `shapes` (default (8, 5) and (5,))
    and `dtype` with a seeded gradient sequence for `steps` steps. After
    every step, W and every slot are compared with the reference, which
    derives the same steps by hand in float64 from the config's
    hyperparameters (α as the optimizer holds it: Keras keeps its learning
    rate in a float32 variable). The
    learning rate of ours may be a float or one of
    `keras_optims.schedules`; Keras's must be a float. `shapes` and
    `gradient_scale` choose the variables and how large their gradients
    are, as in `check`.

    Returns a `Report`: `.passed`, `.max_abs_errors` and `.max_rel_errors`
    per step, `.worst_step`, `.first_failure`; when it fails,
    `.identified` names the known form the optimizer computes instead, or
    is None (`.identification` holds the whole `identify` table, run on
    another fresh copy with the same steps and gradients). Tolerances: see
    `keras_optims.verification.tolerances`. Anything else raises, naming
    what is supported (use `check` with a reference of your own).

    Examples:
        ```python
        import keras_optims
        from keras_optims.verification import verify

        report = verify(keras_optims.Adam(3e-4, beta_2=0.99), steps=200)
        assert report.passed, report
        ```
    """
    _check_steps(steps)
    spec = registry.reference_for(optimizer)
    config = optimizer.get_config()
    fresh = type(optimizer).from_config(config)
    lr_at = registry.learning_rate_reference(fresh)
    report = compare_steps(
        name or config["name"],
        Driver(fresh, spec.slots, compiled=True),
        functools.partial(spec.step, **spec.arguments(config)),
        steps,
        dtype,
        seed,
        state=tuple(spec.slots),
        lr_at=lr_at,
        note=spec.formula,
        shapes=shapes,
        gradient_scale=gradient_scale,
    )
    if not report.passed:
        report.identification = _identify(type(optimizer), config, spec.algorithm, steps, dtype, seed, shapes,
                                          gradient_scale)
    return report
