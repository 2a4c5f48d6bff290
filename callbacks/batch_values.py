"""Each batch's own value of a metric, recovered from what Keras logs.

Keras does not log each batch's own value: its batch logs hold the mean of
the epoch so far, m_k after k batches, weighted by examples. `BatchValues`
recovers the value of the batch (or batches) since the last call as

    θ_k = (N_k·m_k − N_{k−1}·m_{k−1}) / (N_k − N_{k−1})

with N_k the examples seen in the epoch so far, read from the model's loss
tracker (Keras's own example count). For `"loss"` the tracker's running sum
N_k·m_k is read directly rather than rebuilt from the logged mean (under JAX
and PyTorch, Keras 3.15 logs that mean in float32 even for a float64 model).
Where the model has no loss tracker (a custom `train_step`), batches are
taken as equal. The recovered value inherits the rounding of the running
sums, about k·ulp(m). With one batch per epoch (k = 1) it is the batch's
value as the tracker holds it.

`EWMA` and the learning-rate range test (`keras_optims.tuning`) both read
their per-batch values through it.
"""

import keras
import numpy as np


def loss_tracker(model):
    """The Mean that holds the running loss of the epoch: Keras 3's
    `_loss_tracker`, tf_keras's compiled loss's total-loss mean; None for a
    model without one."""
    tracker = getattr(model, "_loss_tracker", None)
    if tracker is None:
        tracker = getattr(getattr(model, "compiled_loss", None), "_total_loss_mean", None)
    if getattr(tracker, "total", None) is None or getattr(tracker, "count", None) is None:
        return None
    return tracker


class LossSums:
    """Reads a model's loss tracker's running (total, count) as floats, or
    None where it has none. Under JAX, `fit` keeps the training state outside
    the variables during an epoch (a callback's `self.model` copies all of it
    back into them, at a cost per step); where that copy has not been made,
    the two values are read from that state directly."""

    def __init__(self, model):
        self.model = model
        tracker = loss_tracker(model)
        self.variables = (tracker.total, tracker.count) if tracker is not None else None
        self._jax_index = None
        if self.variables is not None and keras.backend.backend() == "jax":
            positions = {id(v): i for i, v in enumerate(getattr(model, "metrics_variables", ()))}
            if all(id(v) in positions for v in self.variables):
                self._jax_index = [positions[id(v)] for v in self.variables]

    def __call__(self):
        if self.variables is None:
            return None
        state = getattr(self.model, "_jax_state", None)
        if self._jax_index is not None and state and not self.model._jax_state_synced:
            metrics = state["metrics_variables"]
            return tuple(float(np.asarray(metrics[i])) for i in self._jax_index)
        return tuple(float(v.numpy()) for v in self.variables)


class BatchValues:
    """Recovers per-batch values of the metrics `names` from a model's logs.

    Call `epoch_begin()` at each epoch's start and `batch_end(model, batch,
    logs)` after each logged batch; it returns (steps, {name: θ}), where
    steps is the number of batches since the last call (more than 1 with
    `steps_per_execution > 1`: θ is then the mean of those batches) and the
    dict holds the metrics present in `logs`.
    """

    def __init__(self, names):
        self.names = list(names)
        self._sums = None  # the LossSums of the model last seen
        self.epoch_begin()

    def epoch_begin(self):
        self._k = 0  # batches since the start of the epoch
        self._examples = 0.0  # examples since the start of the epoch
        self._epoch_sum = {name: 0.0 for name in self.names}

    def batch_end(self, model, batch, logs):
        k = batch + 1
        steps = k - self._k
        self._k = k
        if self._sums is None or self._sums.model is not model:
            self._sums = LossSums(model)
        sums = self._sums()
        # N_k: Keras's count of examples in this epoch, or k if unknown.
        examples, previous_examples = (sums[1] if sums else float(k)), self._examples
        self._examples = examples
        values = {}
        for name in self.names:
            if logs is None or name not in logs:
                continue
            # N_k·m_k: the loss tracker's own sum for "loss", else rebuilt from the mean.
            running_sum = sums[0] if name == "loss" and sums else examples * float(logs[name])
            values[name] = (running_sum - self._epoch_sum[name]) / (examples - previous_examples)
            self._epoch_sum[name] = running_sum
        return steps, values
