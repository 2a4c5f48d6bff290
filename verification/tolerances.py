"""Tolerances of the step-by-step comparisons, per dtype, with their reasons.

Errors are measured per tensor and step as a normwise relative error,
max|actual − reference| divided by the largest max|reference| that tensor
has had up to that step (one number per W or slot), and the worst tensor
counts. The running peak, not the current value, is the scale because an
average such as v can cancel to values far below the gradients it holds
(measured: max|v| falling 100-fold in one step), while its rounding errors
stay of the order of u times the gradients that went into it.

float64: 1e-12 at every step. Both sides evaluate the same formula with
  fewer than 20 roundings per element and step, at u = 2⁻⁵³ ≈ 1.1e-16; with
  a fixed gradient sequence, errors add up without feedback, so after t steps
  they are below ~20·t·u: 2e-13 at t = 100. The course-vs-Keras differences
  the suite must catch are 1e-6 or larger.

float32: (4·t + 20)·u at step t, u = 2⁻²⁴ ≈ 6e-8 (≈ 2.5e-5 at t = 100). The
  reference runs in float64 from the same float32 inputs. Each float32 step
  rounds W (≤ u·max|W|) and computes the update with < 20 roundings
  (≤ 20u·|ΔW|, and |ΔW| < max|W| for the learning rates used); averages such
  as s with β₂ = 0.999 carry their rounding for ~1/(1−β₂) steps, ≤ 4u·t.
"""

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
DTYPES = tuple(UNIT_ROUNDOFF)


def step_tolerance(dtype, t):
    """The largest normwise relative error allowed at step t (1-based)."""
    if dtype == "float64":
        return 1e-12
    if dtype == "float32":
        return (4 * t + 20) * UNIT_ROUNDOFF["float32"]
    raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
