"""The course's math, derived by hand, in NumPy and the standard library only.

This package is the independent side of every check: it never imports keras,
tensorflow, torch or keras_optims (a test reads its imports). Everything is
computed in float64, in the course's notation and layout (examples are the
columns of X, shape (n_x, m)).
"""

from .ewma import ewma
from .gradient_check import approximate_gradients, gradient_check, relative_difference
from .minibatches import random_mini_batches
from .network import Network
from .optimizers import adam_step, gd_step, keras_sgd_step, momentum_step, rmsprop_step
from .range_test import linear_range_test, range_test_rate
from .schedules import (
    NUMBERINGS,
    assignment_rates,
    epoch_number,
    epoch_of,
    exponential_decay,
    inverse_sqrt_decay,
    inverse_time_decay,
    schedule_lr_decay,
    staircase,
    update_lr,
)

__all__ = [
    "NUMBERINGS",
    "Network",
    "adam_step",
    "approximate_gradients",
    "assignment_rates",
    "epoch_number",
    "epoch_of",
    "ewma",
    "exponential_decay",
    "gd_step",
    "gradient_check",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "keras_sgd_step",
    "linear_range_test",
    "momentum_step",
    "random_mini_batches",
    "range_test_rate",
    "relative_difference",
    "rmsprop_step",
    "schedule_lr_decay",
    "staircase",
    "update_lr",
]
