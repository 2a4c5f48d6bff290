"""Checks for hyperparameters, shared by every optimizer (and schedule).

Each check takes the argument's name and the value received, and either returns
the value in its canonical Python type or raises an error that reads like
Keras's own:

    ValueError: Argument `beta_1` must be in [0, 1). Received: beta_1=1.5

Rules:
- numbers: Python ints and floats and NumPy real scalars; booleans are rejected
  (``True`` is an ``int`` to Python, but never a meaningful learning rate);
- wrong kind of value -> ``TypeError``; right kind, out of range -> ``ValueError``;
- nothing is ever replaced by a default.
"""

import math
import numbers

import numpy as np

__all__ = [
    "check_boolean",
    "check_choice",
    "check_count",
    "check_decay",
    "check_epsilon",
    "check_factor",
    "check_learning_rate",
    "check_nonnegative",
    "check_optional_boolean",
    "check_positive",
]


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _received(name, value):
    return f"Received: {name}={value!r}"


def _number(name, value, allowed):
    """Returns `value` as a Python float, or raises TypeError."""
    if not _is_real(value):
        raise TypeError(
            f"Argument `{name}` must be a number {allowed}, not "
            f"{type(value).__name__}. {_received(name, value)}"
        )
    return float(value)


def check_positive(name, value):
    """A finite number > 0 (learning rates, ε). Returns it as a float."""
    number = _number(name, value, "that is finite and > 0")
    if not (math.isfinite(number) and number > 0):
        raise ValueError(
            f"Argument `{name}` must be finite and > 0. {_received(name, value)}"
        )
    return number


def check_nonnegative(name, value):
    """A finite number ≥ 0 (a decay rate, where 0 means no decay)."""
    number = _number(name, value, "that is finite and >= 0")
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(
            f"Argument `{name}` must be finite and >= 0. {_received(name, value)}"
        )
    return number


def check_factor(name, value):
    """A multiplicative decay per period: 0 < rate ≤ 1 (1 means no decay)."""
    number = _number(name, value, "in (0, 1]")
    if not 0.0 < number <= 1.0:
        raise ValueError(f"Argument `{name}` must be in (0, 1]. {_received(name, value)}")
    return number


def check_count(name, value, minimum=1):
    """An integer ≥ `minimum` (steps per epoch, epochs). Returns a Python int."""
    if not isinstance(value, numbers.Integral) or _is_bool(value):
        raise TypeError(
            f"Argument `{name}` must be an integer >= {minimum}, not "
            f"{type(value).__name__}. {_received(name, value)}"
        )
    if value < minimum:
        raise ValueError(
            f"Argument `{name}` must be an integer >= {minimum}. {_received(name, value)}"
        )
    return int(value)


def check_decay(name, value):
    """A decay factor β of an exponentially weighted average: 0 ≤ β < 1.

    β = 1 would never move the average from its initial zero (and make the
    bias correction 1/(1 − βᵗ) divide by zero); β < 0 is not an average.
    """
    number = _number(name, value, "in [0, 1)")
    if not 0.0 <= number < 1.0:
        raise ValueError(
            f"Argument `{name}` must be in [0, 1). {_received(name, value)}"
        )
    return number


def check_boolean(name, value):
    """`True` or `False` exactly (not 0/1, not "true"). Returns a Python bool."""
    if not _is_bool(value):
        raise TypeError(
            f"Argument `{name}` must be True or False, not "
            f"{type(value).__name__}. {_received(name, value)}"
        )
    return bool(value)


def check_optional_boolean(name, value):
    """`None`, `True` or `False` exactly. Returns None or a Python bool."""
    if value is None:
        return None
    if not _is_bool(value):
        raise TypeError(
            f"Argument `{name}` must be None, True or False, not "
            f"{type(value).__name__}. {_received(name, value)}"
        )
    return bool(value)


def check_choice(name, value, choices):
    """One of the strings in `choices`."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        error = ValueError if isinstance(value, str) else TypeError
        raise error(
            f"Argument `{name}` must be one of {allowed}. {_received(name, value)}"
        )
    return value


def check_epsilon(epsilon, epsilon_mode, modes):
    """ε (finite, > 0) and where it goes (one of `modes`), as a dict of both."""
    return {
        "epsilon": check_positive("epsilon", epsilon),
        "epsilon_mode": check_choice("epsilon_mode", epsilon_mode, modes),
    }


def check_learning_rate(value, name="learning_rate"):
    """A learning rate as Keras accepts it.

    A finite number > 0 (returned as a Python float), a
    `keras.optimizers.schedules.LearningRateSchedule` or a callable (both
    returned unchanged: a schedule's values are its own business and are
    checked by the schedule).
    """
    if callable(value) and not _is_real(value):
        return value
    if not _is_real(value):
        raise TypeError(
            f"Argument `{name}` must be a finite number > 0, a "
            "LearningRateSchedule or a callable, not "
            f"{type(value).__name__}. {_received(name, value)}"
        )
    return check_positive(name, value)
