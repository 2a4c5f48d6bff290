"""Step-by-step verification of optimizers against hand-derived NumPy math
(installed as `keras_optims.verification`).

- `verify(optimizer, steps=100, dtype="float64", seed=0)` checks one
  configured keras_optims optimizer, or Keras's SGD, RMSprop or Adam, and
  returns a `Report`;
- `check(optimizer, reference, *, slots, init=None, steps=100,
  dtype="float64", seed=0)` checks any Keras optimizer (a user's own)
  against a NumPy step the user writes; `testing.assert_optimizer_matches`
  is the same as an assertion for a test suite;
- `python -m keras_optims.verification` (or `keras-optims-verify`) runs the
  whole suite (every optimizer and switch, every epoch schedule, EWMA,
  training runs, the equivalences with other libraries, negative controls)
  and prints a table; `--junit` and `--markdown` write it for CI.

`reference/` holds the independent side: NumPy and the standard library only.
"""

from keras_optims.verification.harness import Mismatch, Report, check, verify
from keras_optims.verification.identification import FormResult, Identification, identify

__all__ = ["FormResult", "Identification", "Mismatch", "Report", "check", "identify", "verify"]
