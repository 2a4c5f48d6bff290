"""Names the form an optimizer computes: `identify`.

A failed comparison says where the steps differ; `identify` says what the
steps are. It runs the subject (a Keras optimizer, or a NumPy step in
`check`'s reference form) on `check`'s seeded gradients and compares every
step with every known form of the algorithm (`reference.forms`): the
course's, Keras's, torch's, and the common slips. Each form is tried with
the hyperparameters as given and with each of them rounded through float32
(Keras on TensorFlow casts a Python float to a float64 tensor through
float32). A form matches when W, and each of its state arrays where the
subject keeps per-variable state, stays within the step tolerance of
`tolerances` at every step.
"""

import dataclasses
import math

import keras
import numpy as np

from keras_optims.verification import harness
from keras_optims.verification.drivers import Driver
from keras_optims.verification.reference import forms as known
from keras_optims.verification.tolerances import step_tolerance

ALGORITHMS = known.ALGORITHMS
TITLES = {"gradient_descent": "gradient descent", "momentum": "momentum", "rmsprop": "RMSProp", "adam": "Adam"}

# The names identify() accepts (ours, and Keras's rho and momentum for β), as
# the course's names of `reference.forms`.
COURSE_NAMES = {"learning_rate": "lr", "beta": "beta", "rho": "beta", "momentum": "beta", "beta_1": "beta1",
                "beta_2": "beta2", "epsilon": "eps"}
ACCEPTED = {algorithm: tuple(name for name, course in COURSE_NAMES.items() if course in needed)
            for algorithm, needed in known.HYPERPARAMETERS.items()}


@dataclasses.dataclass
class FormResult:
    """How one known form compares with the subject: `first_difference`, the
    first step (1-based) past the tolerance, None when it matched at every
    step; `max_rel_error`, its largest normwise relative error over the
    steps (W and state, see `tolerances`); `float32_hyperparameters`, whether
    these numbers are with its hyperparameters rounded through float32;
    `variant`, which of the form's variants (Adam's swapped β: "β₁", "β₂" or
    "β₁ and β₂"), else ""."""

    id: str
    name: str
    formula: str
    first_difference: int
    max_rel_error: float
    float32_hyperparameters: bool = False
    variant: str = ""
    worst_ratio: float = 0.0  # the largest error over its step's tolerance: the order of `forms`

    @property
    def matched(self):
        return self.first_difference is None


@dataclasses.dataclass
class Identification:
    """What `identify` found.

    `best`: the id of the one form the subject computes, or None (no form,
    or several that coincide for these hyperparameters: then `matches` has
    them all); `float32_hyperparameters`: True when the match needed the
    hyperparameters rounded through float32; `forms`: a `FormResult` per
    form, best first. `print()` shows the table; `clause()` says it in one
    sentence, as failing reports do.
    """

    algorithm: str
    best: str
    matches: tuple
    float32_hyperparameters: bool
    forms: list
    steps: int
    dtype: str
    subject: str = ""

    def result(self, form_id):
        return next(result for result in self.forms if result.id == form_id)

    def clause(self):
        """One sentence: "it computes Adam's Keras form (epsilon hat) at every
        step, to 3e-16", or what else was found."""
        title = TITLES[self.algorithm]
        if self.best is not None:
            found = self.result(self.best)
            error = "exactly" if found.max_rel_error == 0 else f"to {found.max_rel_error:.1g}"
            return f"it computes {_described(found)} at every step, {error}"
        if self.matches:
            names = " and ".join(_described(self.result(i)) for i in self.matches)
            return f"it computes {names}, which coincide for these hyperparameters, at every step"
        nearest = self.forms[0]
        return (f"it computes none of the known forms of {title}; nearest: {_described(nearest)}, "
                f"off from step {nearest.first_difference} (relative error up to {nearest.max_rel_error:.2g})")

    def table(self):
        headers = ("form", "first difference", "max rel error", "W after a step")
        cells = [(f"{r.id}{f' ({r.variant})' if r.variant else ''}{' [float32 hyperparameters]' if r.float32_hyperparameters else ''}",
                  "none" if r.matched else f"step {r.first_difference}", f"{r.max_rel_error:.2g}", r.formula)
                 for r in self.forms]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers[:3])]
        lines = [f"{TITLES[self.algorithm]}, {self.steps} steps, {self.dtype}"
                 f"{f', {self.subject}' if self.subject else ''}: {self.clause()}.",
                 "  ".join(h.ljust(w) for h, w in zip(headers, [*widths, 0])).rstrip(),
                 "  ".join("-" * w for w in [*widths, len(headers[3])])]
        lines += ["  ".join(c.ljust(w) for c, w in zip(cell, [*widths, 0])).rstrip() for cell in cells]
        return "\n".join(lines)

    __str__ = table

    def __repr__(self):
        return self.table()


def _described(result):
    extra = f" (for {result.variant})" if result.variant else ""
    rounded = ", with its hyperparameters rounded through float32" if result.float32_hyperparameters else ""
    return f"{result.name}{extra}{rounded}"


def identify(subject, algorithm, *, steps=50, dtype="float64", seed=0, shapes=harness.SHAPES, gradient_scale=1.0,
             **hyperparameters):
    """Names the known form of `algorithm` that `subject` computes.

    The subject updates variables of `shapes` for `steps` steps with
    `check`'s seeded gradients (the same weights and gradients as `check`
    and `verify` with this `seed` and `gradient_scale`). After every step,
    its W is compared with every known form of the algorithm
    (`keras_optims.verification.reference.forms`), each form with its
    hyperparameters as given and rounded through float32. Where the subject
    keeps per-variable state (a Keras optimizer's variables of the model
    variable's shape, or the arrays of a NumPy step's state dict), each of
    the form's state arrays (its v, s) must also match one of them: at a
    constant α, Keras's momentum buffer holds −α times torch's, and the two
    move W alike.

    | algorithm | forms (ids) |
    | --- | --- |
    | "gradient_descent" | course |
    | "momentum" | course, bias-corrected, keras, torch, swapped |
    | "rmsprop" | course, keras, swapped |
    | "adam" | course, keras, epsilon-inside-root, no-bias-correction, t-off-by-one, swapped |

    Args:
        subject: a new Keras 3 optimizer (ours, Keras's, a user's own; it is
            built on the variables here and run eagerly with `apply`), or a
            NumPy step ``step(W, dW, state, t) -> (W, state)`` in `check`'s
            reference form: arrays of `dtype`, `state` a dict in which a key
            never set reads as zeros of W's shape, t = 1 on the first step.
        algorithm: "gradient_descent", "momentum", "rmsprop" or "adam".
        steps: how many steps (an integer >= 1).
        dtype: "float64" or "float32": of the variables, and the tolerance
            (`keras_optims.verification.tolerances`).
        seed, shapes, gradient_scale: as in `check`.
        **hyperparameters: `learning_rate`, `beta` (momentum, RMSProp; also
            under Keras's names `momentum` and `rho`), `beta_1`, `beta_2`,
            `epsilon` (RMSProp, Adam), as the algorithm needs them. Given
            here, they override the optimizer's config; a NumPy step needs
            them all. An optimizer's α is read from the optimizer, as it
            holds it for each step (its schedule at step t − 1, or its
            learning-rate variable), unless `learning_rate` is given.

    Returns an `Identification`: `best`, `matches`,
    `float32_hyperparameters`, `forms`; print it for the table.

    Examples:
        ```python
        import keras
        from keras_optims.verification import identify

        found = identify(keras.optimizers.RMSprop(0.01), "rmsprop")
        assert found.best == "keras"  # ε inside the root
        print(found)
        ```
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"Argument `algorithm` must be one of {', '.join(map(repr, ALGORITHMS))}. "
                         f"Received: algorithm={algorithm!r}")
    harness._check_steps(steps)
    harness._check_dtype(dtype)
    shapes, gradient_scale = harness._check_gradients(shapes, gradient_scale)
    is_optimizer = isinstance(subject, keras.optimizers.Optimizer)
    if not is_optimizer and (isinstance(subject, type) or not callable(subject)):
        raise TypeError("Argument `subject` must be a Keras 3 optimizer or a NumPy step function "
                        f"step(W, dW, state, t) -> (W, state). Received: subject={subject!r}")
    if is_optimizer and getattr(subject, "built", False):
        raise ValueError("Argument `subject` must be a new optimizer: identify() builds it on its own variables, "
                         f"and this one is already built. Received: subject={subject!r}")
    given = _given_hyperparameters(algorithm, hyperparameters)
    config = subject.get_config() if is_optimizer else {}
    fixed = _hyperparameters(algorithm, given, config, is_optimizer)

    weights, grads = harness.gradient_sequence(steps, seed, shapes, gradient_scale)
    if is_optimizer:
        subject_steps = _optimizer_steps(subject, weights, grads, dtype)
        rates = [fixed.pop("lr")] * steps if "lr" in fixed else [harness._learning_rate_at(subject, t)
                                                                  for t in range(1, steps + 1)]
        name = getattr(subject, "name", type(subject).__name__)
    else:
        subject_steps = _function_steps(subject, weights, grads, dtype)
        rates = [fixed.pop("lr")] * steps
        name = getattr(subject, "__name__", type(subject).__name__)

    start = [w.astype(dtype).astype(np.float64) for w in weights]
    grads64 = [[g.astype(dtype).astype(np.float64) for g in step] for step in grads]
    results = [_compare_form(form, subject_steps, start, grads64, rates, fixed, dtype)
               for form in known.FORMS[algorithm]]
    results.sort(key=lambda r: (r.worst_ratio, r.id))
    matches = tuple(r.id for r in results if r.matched)
    best = matches[0] if len(matches) == 1 else None
    float32 = best is not None and results[0].float32_hyperparameters
    return Identification(algorithm, best, matches, float32, results, steps, dtype, name)


def _given_hyperparameters(algorithm, hyperparameters):
    """The keyword arguments as {course name: float}, each checked."""
    given = {}
    for key, value in hyperparameters.items():
        if key not in ACCEPTED[algorithm]:
            raise TypeError(f"identify() got an unexpected keyword argument {key!r}: the hyperparameters of "
                            f"{algorithm!r} are {', '.join(ACCEPTED[algorithm])}.")
        given[COURSE_NAMES[key]] = _number(key, value)
    return given


def _number(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
        raise ValueError(f"Argument `{key}` must be a finite number. Received: {key}={value!r}")
    return float(value)


def _hyperparameters(algorithm, given, config, is_optimizer):
    """The algorithm's hyperparameters: the keyword arguments, else the
    optimizer's config (α: read from the optimizer later, unless given)."""
    fixed = dict(given)
    for course in known.HYPERPARAMETERS[algorithm]:
        if course in fixed or (course == "lr" and is_optimizer):
            continue
        found = [key for key, name in COURSE_NAMES.items() if name == course and key in config
                 and key != "learning_rate" and isinstance(config[key], (int, float))]
        if not found:
            names = " or ".join(key for key, name in COURSE_NAMES.items() if name == course)
            where = "its config has none" if is_optimizer else "a NumPy step has no config"
            raise ValueError(f"identify() needs `{names}` for {algorithm!r}; {where}: pass it as a keyword "
                             f"argument (identify(subject, {algorithm!r}, {names.split(' or ')[0]}=...)).")
        fixed[course] = _number(found[0], config[found[0]])
    return fixed


def _optimizer_steps(optimizer, weights, grads, dtype):
    """[(W per variable, [state arrays per variable])] after each step."""
    driver = Driver(optimizer, {})
    driver.start(weights, dtype)
    optimizer.build(driver.variables)
    readers = [_state_readers(optimizer, variable) for variable in driver.variables]
    steps = []
    for step_grads in grads:
        driver.apply(step_grads)
        weights_now = [np.array(keras.ops.convert_to_numpy(v), np.float64) for v in driver.variables]
        state = [[np.array(keras.ops.convert_to_numpy(read()), np.float64) for read in each] for each in readers]
        steps.append((weights_now, state))
    return steps


def _state_readers(optimizer, variable):
    """Functions reading the optimizer's state of `variable`: our slots by
    name, or any optimizer variable of its shape (not the step count or
    the learning rate)."""
    if hasattr(optimizer, "slot_names") and hasattr(optimizer, "get_slot"):
        return [lambda name=name: optimizer.get_slot(variable, name) for name in optimizer.slot_names]
    skip = {id(optimizer.iterations), id(getattr(optimizer, "_learning_rate", None))}
    shape = tuple(variable.shape)
    return [lambda held=held: held for held in optimizer.variables
            if id(held) not in skip and tuple(held.shape) == shape]


class _ZeroState(dict):
    """A NumPy step's state: a key never set reads as zeros of W's shape."""

    def __init__(self, values, shape):
        super().__init__(values)
        self.shape = shape

    def __missing__(self, key):
        return np.zeros(self.shape)


def _function_steps(step, weights, grads, dtype):
    current = [w.astype(dtype) for w in weights]
    states = [_ZeroState({}, w.shape) for w in weights]
    steps = []
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            result = step(current[i].copy(), g.astype(dtype), states[i], t)
            if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
                raise TypeError(f"The step must return (W, state) with state a dict; at step {t} it returned "
                                f"{type(result).__name__}.")
            current[i] = np.asarray(result[0])
            if current[i].shape != g.shape:
                raise ValueError(f"The step returned W of shape {current[i].shape} for a variable of shape "
                                 f"{g.shape} at step {t}.")
            states[i] = _ZeroState(result[1], g.shape)
        state = [[np.array(v, np.float64) for v in s.values() if np.shape(v) == g.shape]
                 for s, g in zip(states, step_grads)]
        steps.append(([np.array(w, np.float64) for w in current], state))
    return steps


def _float32(value):
    return float(np.float32(value))


def _compare_form(form, subject_steps, start, grads, rates, fixed, dtype):
    """The form's `FormResult`: its best variant and hyperparameter rounding
    (a match as given first, then a match rounded; without a match, the
    closest variant as given)."""
    tried = []
    for rounded in (False, True):
        scalar = _float32 if rounded else float
        hyperparameters = {k: scalar(v) for k, v in fixed.items()}
        for label, extra in form.variants.items():
            rates_used = [scalar(r) for r in rates]
            errors, ratios = _errors(form, extra, subject_steps, start, grads, rates_used, hyperparameters, dtype)
            first = next((t for t, ratio in enumerate(ratios, start=1) if ratio > 1), None)
            tried.append(FormResult(form.id, form.name, form.formula, first, max(errors), rounded, label, max(ratios)))
    matched = [r for r in tried if r.matched]
    if matched:  # as given if that matches, else rounded
        return min(matched, key=lambda r: (r.float32_hyperparameters, r.worst_ratio))
    return min((r for r in tried if not r.float32_hyperparameters), key=lambda r: r.worst_ratio)


def _errors(form, extra, subject_steps, start, grads, rates, hyperparameters, dtype):
    """Per step: the largest normwise relative error (W, and each state
    array against its nearest subject array) and its ratio to the step's
    tolerance."""
    weights = [w.copy() for w in start]
    states = [{k: np.zeros_like(w) for k in form.state} for w in start]
    w_errors, state_errors = [], {}  # state_errors[(key, i, j)]: per step, j the subject's array
    peaks = {}
    for t, (step_grads, (actual_weights, actual_state)) in enumerate(zip(grads, subject_steps), start=1):
        errors = []
        for i, dW in enumerate(step_grads):
            weights[i], states[i] = form.step(weights[i], dW, states[i], t, lr=rates[t - 1], **hyperparameters, **extra)
            peaks["W", i] = max(peaks.get(("W", i), 0.0), float(np.max(np.abs(weights[i]), initial=0.0)))
            errors.append(harness.normwise_errors(actual_weights[i], weights[i], peaks["W", i])[1])
            for key in form.state:
                desired = states[i][key]
                peaks[key, i] = max(peaks.get((key, i), 0.0), float(np.max(np.abs(desired), initial=0.0)))
                for j, actual in enumerate(actual_state[i]):
                    error = harness.normwise_errors(actual, desired, peaks[key, i])[1]
                    state_errors.setdefault((key, i, j), []).append(error)
        w_errors.append(max(errors))
    tolerances = [step_tolerance(dtype, t) for t in range(1, len(w_errors) + 1)]
    per_step = list(w_errors)
    for key in form.state:
        for i in range(len(start)):
            candidates = [state_errors[key, i, j] for j in range(len(subject_steps[0][1][i]))]
            if not candidates:
                continue  # the subject keeps no state for this variable: W alone is compared
            nearest = min(candidates, key=lambda series: max(e / tol for e, tol in zip(series, tolerances)))
            per_step = [max(a, b) for a, b in zip(per_step, nearest)]
    return per_step, [e / tol for e, tol in zip(per_step, tolerances)]
