"""Keras callbacks for course-style training (installed as `keras_optims.callbacks`).

- `EWMA`: bias-corrected exponentially weighted averages of per-batch metrics
  (`ExponentialAverage` and `exponentially_weighted_average` are the same
  recursion for any series);
- `LearningRateLogger`: the learning rate actually used, after schedules;
- `TrajectoryRecorder`: weights after each step, for pictures of optimizer paths.

The course's "manual decay" needs no class of its own: Keras's
`LearningRateScheduler` and `ReduceLROnPlateau` work with these optimizers.
"""

from keras_optims.callbacks.ewma import EWMA, ExponentialAverage, exponentially_weighted_average
from keras_optims.callbacks.learning_rate_logger import LearningRateLogger, learning_rate_used
from keras_optims.callbacks.trajectory import TrajectoryRecorder

__all__ = [
    "EWMA",
    "ExponentialAverage",
    "LearningRateLogger",
    "TrajectoryRecorder",
    "exponentially_weighted_average",
    "learning_rate_used",
]
