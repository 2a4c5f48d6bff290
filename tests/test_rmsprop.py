"""RMSProp: s ← β·s + (1 − β)·dW²; W ← W − α·dW/(√s + ε)."""

import numpy as np
import pytest

import keras
from support import (
    accumulated_atol,
    as_dtype,
    assert_steps_close,
    random_gradients,
    run_steps,
    weighted_sum,
)

W0 = [1.0, -2.0, 0.5, 3.0]
# The last coordinate's gradient is so small that ε dominates its step.
G = [[0.5, -1.0, 2.0, 1e-7], [0.25, 0.5, -1.5, 2e-7], [-0.75, 1.0, 1.0, -1e-7]]


def by_hand(dtype, lr, beta, eps, epsilon_mode):
    w0, g = as_dtype(W0, dtype), as_dtype(G, dtype)
    s1 = (1 - beta) * g[0] ** 2
    s2 = (1 - beta) * (beta * g[0] ** 2 + g[1] ** 2)
    s3 = (1 - beta) * (beta**2 * g[0] ** 2 + beta * g[1] ** 2 + g[2] ** 2)
    if epsilon_mode == "course":
        root = [np.sqrt(s) + eps for s in (s1, s2, s3)]
    else:
        root = [np.sqrt(s + eps) for s in (s1, s2, s3)]
    W1 = w0 - lr * g[0] / root[0]
    W2 = W1 - lr * g[1] / root[1]
    W3 = W2 - lr * g[2] / root[2]
    return [W1, W2, W3], [s1, s2, s3]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("epsilon_mode", ["course", "keras"])
def test_first_steps_by_hand(dtype, epsilon_mode, optimizers):
    opt = optimizers.RMSProp(learning_rate=0.01, beta=0.9, epsilon=1e-8, epsilon_mode=epsilon_mode)
    W, slots = run_steps(opt, W0, G, dtype)
    W_hand, s_hand = by_hand(dtype, 0.01, 0.9, 1e-8, epsilon_mode)
    assert_steps_close(W, W_hand, dtype, atol=1e-15)
    assert_steps_close(slots["s"], s_hand, dtype, atol=1e-30, what="s")
    assert_steps_close(slots["s"], weighted_sum(as_dtype(G, dtype), 0.9, power=2), dtype, atol=1e-30)
    # The comparison can fail: ε in the other place is caught, in both dtypes.
    other = "keras" if epsilon_mode == "course" else "course"
    with pytest.raises(AssertionError):
        assert_steps_close(W, by_hand(dtype, 0.01, 0.9, 1e-8, other)[0], dtype, atol=1e-15)


def test_first_step_default_is_course_form(optimizers):
    """Step 1 by hand with every default: α = 0.001, β = 0.9, ε = 1e-8 outside the root."""
    W, _ = run_steps(optimizers.RMSProp(), [1.0], [[4.0]], "float64")
    np.testing.assert_allclose(W[0], [1.0 - 0.001 * 4.0 / (np.sqrt(0.1 * 16.0) + 1e-8)], rtol=1e-15)


# Dyadic hyperparameters are exact in float32, so Keras's float32 detour when
# it casts them (ops.cast(0.9, "float64") == 0.8999999762) does not enter the
# float64 comparison; in float32 the Keras defaults are used.
KERAS_CASES = {
    "float64": dict(learning_rate=2.0**-7, rho=0.875, epsilon=2.0**-20),
    "float32": dict(learning_rate=0.001, rho=0.9, epsilon=1e-7),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_keras_mode_equals_keras_rmsprop(dtype, optimizers):
    steps, hp = 120, KERAS_CASES[dtype]
    grads = random_gradients(steps, 40, dtype)
    W0 = np.linspace(-1, 1, 40)
    ours = optimizers.RMSProp(
        hp["learning_rate"], beta=hp["rho"], epsilon=hp["epsilon"], epsilon_mode="keras"
    )
    W_ours, s_ours = run_steps(ours, W0, grads, dtype)
    theirs = keras.optimizers.RMSprop(**hp, momentum=0.0, centered=False)
    W_keras, _ = run_steps(theirs, W0, grads, dtype)
    atol = accumulated_atol(steps, dtype, scale=1.0)
    assert_steps_close(W_ours, W_keras, dtype, atol=atol)
    # Control: the course form differs from Keras far beyond the tolerance.
    course = optimizers.RMSProp(hp["learning_rate"], beta=hp["rho"], epsilon=hp["epsilon"])
    W_course, _ = run_steps(course, W0, grads, dtype)
    with pytest.raises(AssertionError):
        assert_steps_close(W_course, W_keras, dtype, atol=atol)
