"""One optimizer step each, as the course writes it.

Every function takes the parameter W, its gradient dW, the state, the step
t = 1, 2, … and the hyperparameters, and returns the new (W, state…). Inputs
are converted to float64; nothing is modified in place.

    gradient descent   W ← W − α·dW
    momentum           v ← β·v + (1 − β)·dW;   W ← W − α·v   (or α·v / (1 − βᵗ))
    RMSProp            s ← β·s + (1 − β)·dW²;  W ← W − α·dW / (√s + ε)
    Adam               v, s as above with β₁, β₂;  v̂ = v / (1 − β₁ᵗ);  ŝ = s / (1 − β₂ᵗ)
                       W ← W − α·v̂ / (√ŝ + ε)

epsilon_mode="keras" gives the forms of Keras's built-ins instead:
    RMSProp            W ← W − α·dW / √(s + ε)
    Adam               W ← W − α·(√(1 − β₂ᵗ) / (1 − β₁ᵗ))·v / (√s + ε)

and `keras_sgd_step` the form of Keras's SGD, the learning rate inside the
momentum buffer m (documented in `keras.optimizers.SGD`):
    SGD                m ← μ·m − α·dW;   W ← W + m
    SGD, nesterov      m ← μ·m − α·dW;   W ← W + μ·m − α·dW
    SGD, μ = 0         W ← W − α·dW
"""

import numpy as np


def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _check_mode(epsilon_mode):
    if epsilon_mode not in ("course", "keras"):
        raise ValueError(f"epsilon_mode must be 'course' or 'keras', not {epsilon_mode!r}")


def gd_step(W, dW, t, *, lr):
    """W ← W − α·dW. Returns (W,)."""
    W, dW = _f64(W, dW)
    return (W - lr * dW,)


def momentum_step(W, dW, v, t, *, lr, beta, bias_correction=False):
    """Returns (W, v)."""
    W, dW, v = _f64(W, dW, v)
    v = beta * v + (1 - beta) * dW
    if bias_correction:
        v_corrected = v / (1 - beta**t)
    else:
        v_corrected = v
    return W - lr * v_corrected, v


def rmsprop_step(W, dW, s, t, *, lr, beta, eps, epsilon_mode="course"):
    """Returns (W, s). (No bias correction: t is unused.)"""
    _check_mode(epsilon_mode)
    W, dW, s = _f64(W, dW, s)
    s = beta * s + (1 - beta) * dW**2
    if epsilon_mode == "course":
        W = W - lr * dW / (np.sqrt(s) + eps)
    else:
        W = W - lr * dW / np.sqrt(s + eps)
    return W, s


def adam_step(W, dW, v, s, t, *, lr, beta1, beta2, eps, epsilon_mode="course"):
    """Returns (W, v, s)."""
    _check_mode(epsilon_mode)
    W, dW, v, s = _f64(W, dW, v, s)
    v = beta1 * v + (1 - beta1) * dW
    s = beta2 * s + (1 - beta2) * dW**2
    if epsilon_mode == "course":
        v_corrected = v / (1 - beta1**t)
        s_corrected = s / (1 - beta2**t)
        W = W - lr * v_corrected / (np.sqrt(s_corrected) + eps)
    else:
        lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        W = W - lr_t * v / (np.sqrt(s) + eps)
    return W, v, s


def keras_sgd_step(W, dW, m, t, *, lr, momentum, nesterov=False):
    """Keras's SGD: the learning rate inside the buffer m. Returns (W, m)."""
    W, dW, m = _f64(W, dW, m)
    if momentum == 0:
        return W - lr * dW, m
    m = momentum * m - lr * dW
    if nesterov:
        return W + momentum * m - lr * dW, m
    return W + m, m
