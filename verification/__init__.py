"""Step-by-step verification of keras_optims against hand-derived NumPy math
(installed as `keras_optims.verification`).

- `verify(optimizer, steps=100, dtype="float64", seed=0)` checks one
  configured optimizer and returns a `Report`;
- `python -m keras_optims.verification` runs the whole suite (every
  optimizer and switch, every epoch schedule, EWMA, training runs, the
  equivalences with other libraries, negative controls) and prints a table.

`reference/` holds the independent side: NumPy and the standard library only.
"""

from keras_optims.verification.harness import Report, verify

__all__ = ["Report", "verify"]
