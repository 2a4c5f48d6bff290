"""Helpers shared by the tests: running an optimizer step by step, and the
tolerances every numeric comparison uses, with their reasons."""

import importlib.util
import math

import numpy as np
import keras
import pytest

from keras_optims.verification.drivers import Driver

# Hand-computed expectations are evaluated in float64 NumPy from the same
# (dtype-rounded) inputs; the optimizer runs in `dtype`.
#
# float64: the optimizer and the closed form each round a handful (< 20) of
#   operations at unit roundoff u = 2⁻⁵³ ≈ 1.1e-16, in different orders, so
#   results agree to ~20u ≈ 2e-15 relative; 1e-13 leaves room for
#   accumulation over a few hundred steps and is still 10⁴ times below the
#   smallest effect we test for (moving ε changes a float64 step by > 1e-9).
# float32: u = 2⁻²⁴ ≈ 6e-8; < 20 roundings per value give ~1.2e-6 relative,
#   so 2e-6. Absolute floors cover values that cancel to ~0.
RTOL = {"float64": 1e-13, "float32": 2e-6}


def tensor(x, dtype):
    return keras.ops.convert_to_tensor(np.asarray(x, dtype=dtype))


def run_steps(optimizer, W0, gradients, dtype):
    """Applies `gradients` one by one to a variable starting at `W0` (with the
    verification suite's step driver: a Keras 3 optimizer on a Keras
    variable, a tf_keras one on a tf.Variable).

    Returns (W after each step, {slot name: value after each step}), as
    float64 arrays with a leading step axis.
    """
    driver = Driver(optimizer, getattr(optimizer, "slot_names", ())).start([np.asarray(W0)], dtype)
    trajectory, slots = [], {name: [] for name in driver.slots}
    for g in gradients:
        driver.apply([np.asarray(g)])
        weights, values = driver.state()
        trajectory.append(weights[0].astype(np.float64))
        for name in slots:
            slots[name].append(values[name][0].astype(np.float64))
    return np.array(trajectory), {k: np.array(v) for k, v in slots.items()}


def assert_steps_close(actual, desired, dtype, atol=0.0, what="W"):
    """Compares two step-by-step trajectories, step by step."""
    for step, (a, d) in enumerate(zip(actual, desired), start=1):
        np.testing.assert_allclose(
            a, d, rtol=RTOL[dtype], atol=atol, err_msg=f"{what} after step {step} ({dtype})"
        )
    assert len(actual) == len(desired)

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}


def accumulated_atol(steps, dtype, scale):
    """Absolute bound for two implementations that round differently, after
    `steps` updates of values of magnitude ≤ `scale`: each step may round
    `W` differently on each side (≤ 1 ulp ≤ 2u·scale), and with a fixed
    gradient sequence the differences add up without feedback."""
    return steps * 2 * UNIT_ROUNDOFF[dtype] * scale


def as_dtype(values, dtype):
    """`values` rounded to `dtype`, returned as float64 for hand computation."""
    return np.asarray(values, dtype=dtype).astype(np.float64)


def weighted_sum(gradients, beta, power=1):
    """(1 − β)·Σₖ βᵗ⁻ᵏ·gₖᵖ over the first t gradients, for t = 1, 2, …:
    the closed form of an exponentially weighted average started at zero."""
    out = []
    for t in range(1, len(gradients) + 1):
        terms = [beta ** (t - k) * gradients[k - 1] ** power for k in range(1, t + 1)]
        out.append((1 - beta) * np.sum(terms, axis=0))
    return np.array(out)


def random_gradients(steps, size, dtype, seed=0):
    """A seeded gradient sequence spanning eight decades, so that ε matters
    for some coordinates and not for others."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-8, 0, size)
    return (rng.standard_normal((steps, size)) * scales).astype(dtype)


def quotient(ratio, numerator, denominator):
    """Whether `ratio` is numerator / denominator, as a benchmark computes it
    from the unrounded times it also prints (equal to a few ulps)."""
    return math.isclose(ratio, numerator / denominator, rel_tol=1e-9)


def requires(*modules):
    """Skips a test that needs every one of `modules` (e.g. all three
    backends' libraries) where one is not installed: `make test` installs
    them all; each configuration of `make test-compat` only its backend's."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (not installed here)")


EVERY_BACKEND = ("tensorflow", "jax", "torch")
