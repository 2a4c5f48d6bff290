"""Momentum: v ← β·v + (1 − β)·dW; W ← W − α·v (or α·v/(1 − βᵗ))."""

import numpy as np
import pytest

import keras
from support import (
    as_dtype,
    accumulated_atol,
    assert_steps_close,
    random_gradients,
    run_steps,
    weighted_sum,
)

W0 = [1.0, -2.0, 0.5, 3.0]
G = [[0.5, -1.0, 2.0, 1e-7], [0.25, 0.5, -1.5, 2e-7], [-0.75, 1.0, 1.0, -1e-7]]


def by_hand(dtype, lr, beta, bias_correction):
    w0, g = as_dtype(W0, dtype), as_dtype(G, dtype)
    v1 = (1 - beta) * g[0]
    v2 = (1 - beta) * (beta * g[0] + g[1])
    v3 = (1 - beta) * (beta**2 * g[0] + beta * g[1] + g[2])
    c = [1 - beta**t for t in (1, 2, 3)] if bias_correction else [1, 1, 1]
    W1 = w0 - lr * v1 / c[0]
    W2 = W1 - lr * v2 / c[1]
    W3 = W2 - lr * v3 / c[2]
    return [W1, W2, W3], [v1, v2, v3]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias_correction", [False, True])
def test_first_steps_by_hand(dtype, bias_correction, optimizers):
    opt = optimizers.Momentum(learning_rate=0.1, beta=0.9, bias_correction=bias_correction)
    W, slots = run_steps(opt, W0, G, dtype)
    W_hand, v_hand = by_hand(dtype, 0.1, 0.9, bias_correction)
    assert_steps_close(W, W_hand, dtype, atol=1e-15)
    assert_steps_close(slots["v"], v_hand, dtype, atol=1e-22, what="v")
    # The stored v is never bias-corrected, with or without the option.
    assert_steps_close(slots["v"], weighted_sum(as_dtype(G, dtype), 0.9), dtype, atol=1e-22)
    # The comparison can fail: the other bias-correction setting is caught.
    with pytest.raises(AssertionError):
        assert_steps_close(W, by_hand(dtype, 0.1, 0.9, not bias_correction)[0], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_beta_zero_is_gradient_descent(dtype, optimizers):
    grads = random_gradients(50, 10, dtype)
    momentum, _ = run_steps(optimizers.Momentum(0.05, beta=0.0), np.ones(10), grads, dtype)
    plain, _ = run_steps(optimizers.GradientDescent(0.05), np.ones(10), grads, dtype)
    np.testing.assert_array_equal(momentum, plain)


def test_keras_sgd_momentum_needs_lr_times_one_minus_beta(optimizers):
    """Keras's SGD(momentum=β) keeps lr inside its buffer: it matches the course
    rule with lr = α·(1 − β) (dyadic values, so float64 rounding is the only
    difference), and not with lr = α."""
    dtype, steps, alpha, beta = "float64", 100, 0.25, 0.875
    grads = random_gradients(steps, 20, dtype)
    ours, _ = run_steps(optimizers.Momentum(alpha, beta=beta), np.ones(20), grads, dtype)
    keras_sgd = keras.optimizers.SGD(learning_rate=alpha * (1 - beta), momentum=beta)
    theirs, _ = run_steps(keras_sgd, np.ones(20), grads, dtype)
    assert_steps_close(ours, theirs, dtype, atol=accumulated_atol(steps, dtype, 2.0))
    naive, _ = run_steps(keras.optimizers.SGD(alpha, momentum=beta), np.ones(20), grads, dtype)
    with pytest.raises(AssertionError):
        assert_steps_close(ours, naive, dtype, atol=accumulated_atol(steps, dtype, 2.0))
