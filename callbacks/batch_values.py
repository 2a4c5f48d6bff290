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


def tracker_sums(model):
    """The model's loss tracker's running (total, count), or None where the
    model has none (a custom `train_step`)."""
    tracker = getattr(model, "_loss_tracker", None) if model is not None else None
    if getattr(tracker, "total", None) is None or getattr(tracker, "count", None) is None:
        return None
    return float(tracker.total.numpy()), float(tracker.count.numpy())


class BatchValues:
    """Recovers per-batch values of the metrics `names` from a model's logs.

    Call `epoch_begin()` at each epoch's start and `batch_end(model, batch,
    logs)` after each logged batch; it returns (steps, {name: θ}), where
    steps is the number of batches since the last call (more than 1 with
    `steps_per_execution > 1`: θ is then the mean of those batches) and the
    dict holds the metrics present in `logs`. `loss_sums(model)` reads the
    loss tracker's (total, count) (default: `tracker_sums`).
    """

    def __init__(self, names, loss_sums=tracker_sums):
        self.names = list(names)
        self._loss_sums = loss_sums
        self.epoch_begin()

    def epoch_begin(self):
        self._k = 0  # batches since the start of the epoch
        self._examples = 0.0  # examples since the start of the epoch
        self._epoch_sum = {name: 0.0 for name in self.names}

    def batch_end(self, model, batch, logs):
        k = batch + 1
        steps = k - self._k
        self._k = k
        sums = self._loss_sums(model)
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
