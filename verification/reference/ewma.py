"""Exponentially weighted averages of a series θ₁, θ₂, …

    V₀ = 0,   V_t = β·V_{t−1} + (1 − β)·θ_t

The recursion always runs on the uncorrected V; the bias-corrected value
V_t / (1 − βᵗ) is only reported (feeding it back, as the notes' equation 2
reads, would be wrong). A constant series gives its constant at every t once
corrected; 1/(1 − β) is the approximate window (β = 0.9 → 10).
"""

import numpy as np


def ewma(series, beta, bias_correction=True):
    """The averages V_1 … V_T of `series` (first axis = time), as float64."""
    series = np.asarray(series, dtype=np.float64)
    out = np.empty_like(series)
    V = np.zeros_like(series[0]) if len(series) else 0.0
    for t, theta in enumerate(series, start=1):
        V = beta * V + (1 - beta) * theta
        out[t - 1] = V / (1 - beta**t) if bias_correction else V
    return out
