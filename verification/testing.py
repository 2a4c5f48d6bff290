"""Assertions for test suites (pytest, unittest, anything that reports an
`AssertionError`), in the manner of `numpy.testing`.

Examples:
    The course's momentum, v ← β·v + (1 − β)·dW and W ← W − α·v, held to a
    hand-written step in a test:

    ```python
    import keras_optims
    from keras_optims.verification.testing import assert_optimizer_matches


    def momentum_step(W, dW, state, t, lr, beta=0.9):
        v = beta * state["v"] + (1 - beta) * dW
        return W - lr * v, {"v": v}


    def test_momentum_is_the_course_rule():
        assert_optimizer_matches(keras_optims.Momentum(0.1, beta=0.9), momentum_step,
                                 slots={"v": lambda optimizer, W: optimizer.get_slot(W, "v")})


    test_momentum_is_the_course_rule()
    ```
"""

import numpy as np

from keras_optims.verification.harness import check

__all__ = ["assert_optimizer_matches"]


def assert_optimizer_matches(optimizer, reference, **arguments):
    """Raises `AssertionError` unless `optimizer` takes the steps of
    `reference`: `check(optimizer, reference, **arguments)` with the same
    arguments (`slots`, `init`, `steps`, `dtype`, `seed`). The message names
    the first step and tensor that differ, the largest differences and the
    tolerance, and shows both arrays."""
    report = check(optimizer, reference, **arguments)
    if report.passed:
        return report
    failure = report.first_failure
    actual, desired = failure.actual, failure.desired
    # The elements beyond the bound the check applied: tolerance × the tensor's scale.
    differs = np.abs(actual - desired) > failure.tolerance * failure.scale
    with np.printoptions(precision=17, threshold=20, edgeitems=3):
        lines = [
            f"Optimizer {report.name!r} does not match the reference "
            f"(dtype {report.dtype}, tolerance {failure.tolerance:.3g}, normwise relative)",
            "",
            f"First difference at {failure.where()}",
            f"Mismatched elements: {int(np.sum(differs))} / {differs.size} ({100.0 * np.mean(differs):.3g}%)",
            f"Max absolute difference: {failure.max_abs_error:.6g}",
            f"Max relative difference (normwise): {failure.rel_error:.6g}",
            f" ACTUAL: {np.array2string(actual, prefix=' ACTUAL: ')}",
            f" DESIRED: {np.array2string(desired, prefix=' DESIRED: ')}",
        ]
    raise AssertionError("\n".join(lines))
