"""Adam: bias-corrected v and s, W ← W − α·v̂/(√ŝ + ε)."""

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
LR, B1, B2, EPS = 0.01, 0.9, 0.999, 1e-8


def by_hand(dtype, epsilon_mode="course", bias_correction=True):
    """Three steps in closed form. Bias-corrected averages are weighted means:
    v̂_t = Σ β₁ᵗ⁻ᵏ gₖ / Σ β₁ᵗ⁻ᵏ (the (1 − β₁) factors cancel)."""
    w0, g = as_dtype(W0, dtype), as_dtype(G, dtype)
    v = [(1 - B1) * g[0], (1 - B1) * (B1 * g[0] + g[1]),
         (1 - B1) * (B1**2 * g[0] + B1 * g[1] + g[2])]
    s = [(1 - B2) * g[0] ** 2, (1 - B2) * (B2 * g[0] ** 2 + g[1] ** 2),
         (1 - B2) * (B2**2 * g[0] ** 2 + B2 * g[1] ** 2 + g[2] ** 2)]
    v_hat = [g[0], (B1 * g[0] + g[1]) / (1 + B1), (B1**2 * g[0] + B1 * g[1] + g[2]) / (1 + B1 + B1**2)]
    s_hat = [g[0] ** 2, (B2 * g[0] ** 2 + g[1] ** 2) / (1 + B2),
             (B2**2 * g[0] ** 2 + B2 * g[1] ** 2 + g[2] ** 2) / (1 + B2 + B2**2)]
    W, w = [], w0
    for t in range(3):
        if not bias_correction:
            w = w - LR * v[t] / (np.sqrt(s[t]) + EPS)
        elif epsilon_mode == "course":
            w = w - LR * v_hat[t] / (np.sqrt(s_hat[t]) + EPS)
        else:  # ε added to √s, not to √ŝ: ε_course = ε_keras / √(1 − β₂ᵗ)
            w = w - LR * v_hat[t] / (np.sqrt(s_hat[t]) + EPS / np.sqrt(1 - B2 ** (t + 1)))
        W.append(w)
    return W, v, s


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("epsilon_mode", ["course", "keras"])
def test_first_steps_by_hand(dtype, epsilon_mode, optimizers):
    opt = optimizers.Adam(LR, beta_1=B1, beta_2=B2, epsilon=EPS, epsilon_mode=epsilon_mode)
    W, slots = run_steps(opt, W0, G, dtype)
    W_hand, v_hand, s_hand = by_hand(dtype, epsilon_mode)
    assert_steps_close(W, W_hand, dtype, atol=1e-15)
    assert_steps_close(slots["v"], v_hand, dtype, atol=1e-22, what="v")
    assert_steps_close(slots["s"], s_hand, dtype, atol=1e-30, what="s")
    g = as_dtype(G, dtype)
    assert_steps_close(slots["v"], weighted_sum(g, B1), dtype, atol=1e-22)
    assert_steps_close(slots["s"], weighted_sum(g, B2, power=2), dtype, atol=1e-30)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "wrong", [{"epsilon_mode": "keras"}, {"bias_correction": False}], ids=["eps-hat", "no-bias-correction"]
)
def test_hand_comparison_catches_wrong_rules(dtype, wrong, optimizers):
    """Negative controls: the course optimizer fails against a closed form with
    ε in the Keras place or without bias correction, in both dtypes."""
    W, _ = run_steps(optimizers.Adam(LR, beta_1=B1, beta_2=B2, epsilon=EPS), W0, G, dtype)
    with pytest.raises(AssertionError):
        assert_steps_close(W, by_hand(dtype, **wrong)[0], dtype, atol=1e-15)


def test_first_step_default_is_course_form(optimizers):
    """Step 1 with every default: v̂ = g, ŝ = g², so W₁ = W₀ − α·g/(|g| + ε)."""
    W, _ = run_steps(optimizers.Adam(), [1.0, 1.0], [[3e-8, -2.0]], "float64")
    expected = [1.0 - 0.001 * 3e-8 / (3e-8 + 1e-8), 1.0 + 0.001 * 2.0 / (2.0 + 1e-8)]
    np.testing.assert_allclose(W[0], expected, rtol=1e-15)


# See test_rmsprop.py: dyadic hyperparameters in float64 keep Keras's float32
# cast of them exact; float32 uses the Keras defaults.
KERAS_CASES = {
    "float64": dict(learning_rate=2.0**-7, beta_1=0.875, beta_2=1 - 2.0**-10, epsilon=2.0**-20),
    "float32": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_keras_mode_equals_keras_adam(dtype, optimizers):
    steps, hp = 120, KERAS_CASES[dtype]
    grads = random_gradients(steps, 40, dtype)
    W0 = np.linspace(-1, 1, 40)
    W_ours, slots = run_steps(optimizers.Adam(**hp, epsilon_mode="keras"), W0, grads, dtype)
    keras_adam = keras.optimizers.Adam(**hp)
    W_keras, _ = run_steps(keras_adam, W0, grads, dtype)
    atol = accumulated_atol(steps, dtype, scale=1.0)
    assert_steps_close(W_ours, W_keras, dtype, atol=atol)
    W_course, _ = run_steps(optimizers.Adam(**hp), W0, grads, dtype)
    with pytest.raises(AssertionError):
        assert_steps_close(W_course, W_keras, dtype, atol=atol)
