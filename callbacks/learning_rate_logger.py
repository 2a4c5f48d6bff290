"""Logging the learning rate an optimizer actually used."""

import keras
import numpy as np

from keras_optims import checks
from keras_optims.callbacks.serializable import SerializableCallback


def learning_rate_used(optimizer):
    """The learning rate of the optimizer's last step, after any schedule.

    A schedule is evaluated at the step just taken (Keras calls it with the
    step counter before incrementing it); a variable or a callable is read as
    it is now. A `LossScaleOptimizer` is looked through."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    learning_rate = optimizer._learning_rate
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        step = max(int(optimizer._iterations.numpy()) - 1, 0)
        learning_rate = learning_rate(step)
    elif callable(learning_rate) and not isinstance(learning_rate, keras.Variable):
        learning_rate = learning_rate()
    return float(np.asarray(keras.ops.convert_to_numpy(learning_rate)))


@keras.saving.register_keras_serializable(package="keras_optims")
class LearningRateLogger(SerializableCallback):
    """Writes the learning rate actually used into the logs as `learning_rate`.

    Per epoch (the rate of the epoch's last step), and per batch when
    `per_batch=True`. Works with a constant rate, a schedule (its value at the
    step just taken), a callable, and rates changed by other callbacks
    (`LearningRateScheduler`, `ReduceLROnPlateau`). List it before `History`,
    `CSVLogger` or `TensorBoard` in `callbacks=[…]` so that they record it.
    It keeps no state, so `BackupAndRestore` needs nothing from it.

    Keras's own `TensorBoard` callback replaces `learning_rate` in what it
    writes *per epoch* with its own reading of `optimizer.learning_rate`,
    which for a schedule is the rate of the next step (with an epoch schedule,
    the next epoch's rate). Its per-batch scalars, `History` and `CSVLogger`
    get the rate actually used from this callback.

    Args:
        per_batch: bool, also log per batch.
    """

    def __init__(self, per_batch=False):
        super().__init__()
        self.per_batch = checks.check_boolean("per_batch", per_batch)

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch and logs is not None:
            logs["learning_rate"] = learning_rate_used(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = learning_rate_used(self.model.optimizer)

    def get_config(self):
        return {"per_batch": self.per_batch}
