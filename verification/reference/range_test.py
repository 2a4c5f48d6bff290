"""The learning-rate range test, by hand.

α grows geometrically over the test's steps k = 0 … K − 1:

    α_k = α_min·(α_max / α_min)^(k / (K − 1))

so that ln α_k is evenly spaced from ln α_min to ln α_max. Step k
records the loss of its own mini-batch at the weights before the step, then
moves the weights with α_k; the recorded losses are smoothed by the course's
bias-corrected average (`ewma`).

`linear_range_test` replays the test for the model whose every step is
known in closed form: ŷ = W·x + b with the mean squared error over the whole
data set (one batch of all m examples per step) and gradient descent,

    J(W, b) = (1/m)·Σᵢ (W·x⁽ⁱ⁾ + b − y⁽ⁱ⁾)²
    dW = (2/m)·Σᵢ (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)·x⁽ⁱ⁾ᵀ,   db = (2/m)·Σᵢ (ŷ⁽ⁱ⁾ − y⁽ⁱ⁾)
"""

import numpy as np


def range_test_rate(alpha_min, alpha_max, steps, k):
    """α_k of a test of `steps` steps (k counted from 0)."""
    return alpha_min * (alpha_max / alpha_min) ** (k / (steps - 1))


def linear_range_test(X, Y, W, b, rates):
    """Gradient descent on the whole-data mean squared error of ŷ = W·X + b
    (X: (n_x, m), Y: (1, m), W: (1, n_x), b: scalar), one step per α in
    `rates`. Returns the loss before each step (what step k records)."""
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    W, b = np.array(W, np.float64), float(b)
    m = X.shape[1]
    losses = []
    for alpha in rates:
        error = W @ X + b - Y
        losses.append(float(np.sum(error**2) / m))
        dW = 2.0 / m * error @ X.T
        db = 2.0 / m * float(np.sum(error))
        W, b = W - alpha * dW, b - alpha * db
    return np.array(losses)
