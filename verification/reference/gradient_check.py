"""Gradient checking by central differences, in float64.

    dθ_approx[i] = (J(θ + ε·e_i) − J(θ − ε·e_i)) / (2ε)
    difference   = ‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂)

The course's rule of thumb with ε = 1e-7: ~1e-7 or less is right, 1e-5 is
worth a look, 1e-3 or more is a bug. The quotient's error is about
u·|J|/ε from rounding (u = 2⁻⁵³) plus ε²·|J‴|/6 from truncation, so ε = 1e-6
is often a little sharper than the course's 1e-7.
"""

import numpy as np


def relative_difference(g, g_approx):
    """‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂) (0 when both are zero)."""
    g, g_approx = np.ravel(g).astype(np.float64), np.ravel(g_approx).astype(np.float64)
    denominator = np.linalg.norm(g) + np.linalg.norm(g_approx)
    return 0.0 if denominator == 0 else float(np.linalg.norm(g - g_approx) / denominator)


def approximate_gradients(cost, parameters, epsilon=1e-7):
    """{"dW1": …} by central differences of `cost` (a function of a parameter dict)."""
    approximations = {}
    for name, value in parameters.items():
        approx = np.zeros(np.shape(value), dtype=np.float64)
        for index in np.ndindex(approx.shape):
            shifted = {k: np.array(v, dtype=np.float64) for k, v in parameters.items()}
            shifted[name][index] = value[index] + epsilon
            plus = cost(shifted)
            shifted[name][index] = value[index] - epsilon
            minus = cost(shifted)
            approx[index] = (plus - minus) / (2 * epsilon)
        approximations["d" + name] = approx
    return approximations


def gradient_check(cost, parameters, gradients, epsilon=1e-7):
    """Compares hand-derived `gradients` ({"dW1": …}) with central differences.

    Returns {group: relative difference} for each parameter ("W1", "b1", …),
    each layer ("layer1": W1 and b1 together) and "all" (every parameter).
    """
    approx = approximate_gradients(cost, parameters, epsilon)
    groups = {name: [name] for name in parameters}
    for name in parameters:
        groups.setdefault("layer" + name[1:], []).append(name)
    groups["all"] = list(parameters)
    return {
        group: relative_difference(
            np.concatenate([np.ravel(gradients["d" + n]) for n in names]),
            np.concatenate([np.ravel(approx["d" + n]) for n in names]),
        )
        for group, names in groups.items()
    }
