"""GradientDescent: W ← W − α·dW, checked against the sum of the gradients."""

import numpy as np
import pytest

import keras
import keras_optims
from support import as_dtype, assert_steps_close, random_gradients, run_steps

W0 = [1.0, -2.0, 0.5, 3.0]
G = [[0.5, -1.0, 2.0, 1e-7], [0.25, 0.5, -1.5, 2e-7], [-0.75, 1.0, 1.0, -1e-7]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_first_steps_by_hand(dtype, optimizers):
    lr = 0.1
    W, _ = run_steps(optimizers.GradientDescent(learning_rate=lr), W0, G, dtype)
    w0, g = as_dtype(W0, dtype), as_dtype(G, dtype)
    # W_t = W₀ − α·(g₁ + … + g_t)
    expected = [w0 - lr * g[0], w0 - lr * (g[0] + g[1]), w0 - lr * (g[0] + g[1] + g[2])]
    assert_steps_close(W, expected, dtype, atol=1e-15)
    # The comparison can fail: a step with α twice too large is caught.
    with pytest.raises(AssertionError):
        assert_steps_close(W, [w0 - 2 * lr * g[0]] + expected[1:], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_equals_keras_sgd_without_momentum(dtype, optimizers):
    grads = random_gradients(100, 20, dtype)
    ours, _ = run_steps(optimizers.GradientDescent(learning_rate=0.125), np.ones(20), grads, dtype)
    theirs, _ = run_steps(keras.optimizers.SGD(learning_rate=0.125), np.ones(20), grads, dtype)
    np.testing.assert_array_equal(ours, theirs)


def test_has_no_state_but_keras_counters():
    opt = keras_optims.GradientDescent()
    opt.build([keras.Variable(np.zeros(3))])
    assert [v.name for v in opt.variables] == ["iteration", "learning_rate"]
    assert opt.slot_names == ()
