"""The range-test panel: `keras_optims.tuning.find_learning_rate` on the
training panels' problem (`problem`): gradient descent from (w, b) = START,
mini-batches of `BATCH`, α from `LOW` to `HIGH` over `STEPS` steps, each
step's own mini-batch cost recorded. The page offers the average of those
costs at each β of `BETAS`, with and without bias correction, each computed
by the package's `exponentially_weighted_average`, and the suggestion the
package's rule (`keras_optims.tuning.range_test.suggest`) gives for that
average.

Why these values: batch descent on this problem is stable below
α = 2/4.4 ≈ 0.45, and one example's curvature reaches 10, so from 10⁻⁴ to 10
the costs first stay put, then fall, then explode: the whole curve in 100
steps (α grows by 10% a step). B = 16 gives the mini-batch noise that the
average is for. The test runs at β = 0.98 (the package's default) and stops
where that average passes 4 × its lowest; every β is drawn over the same
steps. With bias correction off, the average starts at (1 − β)·J₁: a learner
sees it start near zero and climb, the course's reason for the correction.
"""

import numpy as np

from explorer_data.common import rounded

BATCH = 16
STEPS = 100
LOW, HIGH = 1e-4, 10.0
BETA = 0.98  # the run's own β, which decides where it stops
BETAS = (0.5, 0.8, 0.9, 0.95, 0.98)


def run_one():
    """The range test (unrounded), a `LearningRateRange`."""
    import keras_optims
    from keras_optims.tuning import find_learning_rate
    from keras_optims.verification.training import floatx

    from explorer_data import problem

    with floatx("float64"):
        model, inputs, targets = problem.model(keras_optims.GradientDescent())
        return find_learning_rate(model, inputs, targets, batch_size=BATCH, min_learning_rate=LOW,
                                  max_learning_rate=HIGH, steps=STEPS, beta=BETA, verbose=0)


def averages(losses, beta, bias_correction):
    from keras_optims.callbacks import exponentially_weighted_average

    return exponentially_weighted_average(losses, beta, bias_correction)


def suggestion(found, smoothed):
    """The package's suggestion for `smoothed`, as `find_learning_rate`
    makes it: without the last step when the test stopped on it."""
    from keras_optims.tuning.range_test import suggest

    count = len(found.losses) - (found.stopped in ("diverged", "not finite"))
    return suggest(found.learning_rates[:count], smoothed[:count])


def panel():
    found = run_one()
    data = {"steps": STEPS, "batch_size": BATCH, "low": LOW, "high": HIGH, "beta": BETA, "betas": list(BETAS),
            "stopped": found.stopped, "alpha": rounded(found.learning_rates), "loss": rounded(found.losses),
            "corrected": {}, "uncorrected": {}, "suggestion": {}}
    for beta in BETAS:
        corrected = averages(found.losses, beta, True)
        data["corrected"][f"{beta:g}"] = rounded(corrected)
        data["uncorrected"][f"{beta:g}"] = rounded(averages(found.losses, beta, False))
        alpha, _ = suggestion(found, corrected)
        data["suggestion"][f"{beta:g}"] = None if alpha is None else rounded(np.float64(alpha))
    return data
