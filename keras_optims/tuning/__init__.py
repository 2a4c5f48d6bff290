"""Choosing what the course says to choose: α and the mini-batch size.

- `find_learning_rate`: a learning-rate range test on your compiled model
  (`LearningRateRangeTest` is the same inside your own `fit`); it returns a
  `LearningRateRange`.
- `sweep_batch_size`: trains from the same start at each batch size until the
  whole-data loss reaches a target; it returns a `BatchSizeSweep`.

Both leave the model as they found it (`snapshot.TrainingState`).
"""

from keras_optims.tuning.batch_size import BatchSizeRow, BatchSizeSweep, sweep_batch_size
from keras_optims.tuning.range_test import (
    LearningRateRange,
    LearningRateRangeTest,
    RangeTestSchedule,
    find_learning_rate,
)

__all__ = [
    "BatchSizeRow",
    "BatchSizeSweep",
    "LearningRateRange",
    "LearningRateRangeTest",
    "RangeTestSchedule",
    "find_learning_rate",
    "sweep_batch_size",
]
