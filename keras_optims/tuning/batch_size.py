"""The batch-size sweep: how long each mini-batch size takes to bring the
whole-data loss down to one target, from the same start."""

import dataclasses
import math
import time

import keras
import numpy as np

from keras_optims import checks
from keras_optims.tuning import data as data_module
from keras_optims.tuning import flavour
from keras_optims.tuning.snapshot import TrainingState, before_fit

SMALLEST_DEFAULT = 32  # the course's smallest power of two worth trying (its list: 64, 128, 256, 512)
DEFAULT_MAX_EPOCHS = 20
EVALUATION_BATCH = 1024  # the whole-data loss is evaluated in batches of at most this many examples


@dataclasses.dataclass
class BatchSizeRow:
    """One batch size's run.

    Attributes:
        batch_size: B.
        iterations_per_epoch: ⌈m / B⌉.
        examples_per_second: training throughput, m·epochs / training seconds
            (the whole-data evaluations not counted), or None if it did not fit.
        epochs_to_target: the first epoch (counted from 1) after which the
            whole-data loss was at or below the target, or None.
        seconds_to_target: training seconds up to the end of that epoch, or None.
        fits: False when this size ran out of memory.
        losses: the whole-data loss after each epoch.
        seconds: training seconds at the end of each epoch.
        error: the out-of-memory error's message, where `fits` is False.
    """

    batch_size: int
    iterations_per_epoch: int
    examples_per_second: object = None
    epochs_to_target: object = None
    seconds_to_target: object = None
    fits: bool = True
    losses: list = dataclasses.field(default_factory=list)
    seconds: list = dataclasses.field(default_factory=list)
    error: str = ""


@dataclasses.dataclass
class BatchSizeSweep:
    """What `sweep_batch_size` measured.

    Attributes:
        rows: one `BatchSizeRow` per batch size, smallest first.
        target_loss: the whole-data loss each size had to reach.
        target_from: "argument" (given) or "lowest common" (the highest of
            the sizes' lowest losses: the lowest loss that every size reached).
        examples: m.
        max_epochs: each size's budget.
    """

    rows: list
    target_loss: float
    target_from: str
    examples: int
    max_epochs: int

    @property
    def fastest(self):
        """The row that reached the target in the fewest seconds, or None."""
        reached = [row for row in self.rows if row.seconds_to_target is not None]
        return min(reached, key=lambda row: row.seconds_to_target) if reached else None

    @property
    def largest_that_fits(self):
        """The largest batch size that fit in memory, or None."""
        fitting = [row.batch_size for row in self.rows if row.fits]
        return max(fitting) if fitting else None

    def table(self):
        """The rows as a Markdown table."""
        lines = ["| B | iterations per epoch | examples per second | epochs to target | seconds to target | fits |",
                 "| ---: | ---: | ---: | ---: | ---: | --- |"]
        for row in self.rows:
            rate = f"{row.examples_per_second:,.0f}" if row.examples_per_second else "–"
            epochs = row.epochs_to_target if row.epochs_to_target is not None else "–"
            seconds = f"{row.seconds_to_target:.3f}" if row.seconds_to_target is not None else "–"
            lines.append(f"| {row.batch_size} | {row.iterations_per_epoch} | {rate} | {epochs} | {seconds} | "
                         f"{'yes' if row.fits else 'no'} |")
        return "\n".join(lines)

    def plot(self, ax=None):
        """The whole-data loss against training seconds, one line per batch
        size, the target dashed. Returns the matplotlib Axes."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError(
                'BatchSizeSweep.plot needs matplotlib: pip install "keras-optims[examples]" (or matplotlib alone).'
            ) from error
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for row in self.rows:
            if row.fits and row.losses:
                label = f"B = {row.batch_size}" + (" = m" if row.batch_size == self.examples else "")
                ax.plot([0.0, *row.seconds], [row.losses[0], *row.losses], marker=".", label=label)
        ax.axhline(self.target_loss, color="0.3", ls="--", label=f"target {self.target_loss:.4g}")
        ax.set_yscale("log")
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("whole-data loss J")
        ax.legend(fontsize="small")
        return ax


def default_batch_sizes(examples):
    """32, 64, … (powers of two below m), and m itself."""
    sizes, size = [], SMALLEST_DEFAULT
    while size < examples:
        sizes.append(size)
        size *= 2
    return [*sizes, examples]


def is_out_of_memory(error):
    """Whether `error` is an out-of-memory error of Python or a backend."""
    if isinstance(error, MemoryError):
        return True
    name = type(error).__name__
    text = str(error)
    return name in ("ResourceExhaustedError", "OutOfMemoryError") or "RESOURCE_EXHAUSTED" in text or (
        "out of memory" in text.lower())


class _Clock:
    """Times each epoch's training batches (not its evaluation), reads the
    whole-data loss (`val_loss`) after it, stops at the target."""

    def __init__(self, row, target_loss):
        super().__init__()
        self.row, self.target_loss, self.total = row, target_loss, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.total += self._last - self._start
        self.row.seconds.append(self.total)
        self.row.losses.append(float(logs["val_loss"]))
        if self.target_loss is not None and self.row.losses[-1] <= self.target_loss:
            self.model.stop_training = True


class _Start:
    """Captures the training state at the first `fit`'s start (the model and
    optimizer built) and resets every later `fit` to it."""

    def __init__(self, before):
        super().__init__()
        self.before, self.state = before, None

    def on_train_begin(self, logs=None):
        if self.state is None:
            self.state = TrainingState.capture(flavour.trained_model(self), self.before)
        else:
            self.state.reset_variables()


def _check_batch_sizes(batch_sizes, examples):
    if batch_sizes is None:
        return default_batch_sizes(examples)
    if isinstance(batch_sizes, (str, bytes)) or not hasattr(batch_sizes, "__iter__"):
        raise TypeError(f"Argument `batch_sizes` must be a list of integers. Received: batch_sizes={batch_sizes!r}")
    sizes = [checks.check_count("batch_sizes", size) for size in batch_sizes]
    if not sizes:
        raise ValueError("Argument `batch_sizes` must name at least one batch size. Received: batch_sizes=[]")
    if any(size > examples for size in sizes):
        raise ValueError(f"Argument `batch_sizes` must be at most m = {examples}. Received: batch_sizes={batch_sizes!r}")
    return sorted(set(sizes))


def sweep_batch_size(model, x, y, *, batch_sizes=None, target_loss=None, max_epochs=DEFAULT_MAX_EPOCHS,
                     verbose="auto"):
    """Measures how long each mini-batch size takes to reach a low cost.

    The course: the batch size is "a hyperparameter that we might search
    for", a power of two; with m ≤ 2000 examples batch gradient descent is
    about as fast as anything, beyond that mini-batches win. For each batch
    size B this trains the model from the same start (its weights, optimizer
    state and learning rate as they are when called) with
    `fit(batch_size=B, shuffle=True)`, one warm-up epoch first (tracing and
    compiling are not counted; the state is reset after it), then up to
    `max_epochs` epochs, evaluating the whole-data loss J after each, until J
    ≤ `target_loss`. Only the training batches are timed.

    Defaults, and why:
    - `batch_sizes`: 32, 64, 128, … below m, and m itself (batch gradient
      descent): the course's powers of two, from the smallest that still
      uses vectorization to the whole set.
    - `target_loss=None`: every size trains its whole budget, and the target
      is the lowest loss that every size reached (the highest of their
      lowest losses), so each row has a time to compare.
    - `max_epochs=20`: enough epochs for the small batches to show their
      fast start (20·m/B steps) and for batch gradient descent to take 20
      steps, in seconds on a small data set.

    An out-of-memory error at one size is caught and reported in its row
    (`fits` False) and the sweep goes on. Afterwards the model is put back
    as it was (`keras_optims.tuning.snapshot`), also when it raises.

    Args:
        model: a compiled `keras.Model`, or a compiled tf_keras model.
        x, y: the training data as arrays (NumPy, or a dict/list of them).
        batch_sizes: the sizes to try, integers in [1, m].
        target_loss: the whole-data loss to reach, or None (above).
        max_epochs: integer ≥ 1, each size's budget of timed epochs.
        verbose: as in `fit` (its progress bar).

    Returns:
        A `BatchSizeSweep`.
    """
    data_module.check_compiled(model)
    examples = data_module.examples_in(x)
    if examples is None:
        raise TypeError(
            "Argument `x` must be arrays (NumPy or tensors, or a dict or list of them): the sweep chooses "
            f"the batch size itself. Received: x of type {type(x).__name__}"
        )
    if examples == 0:
        raise ValueError("Argument `x` holds no examples. Received: x with 0 examples")
    if y is None:
        raise ValueError("Argument `y` must hold the targets. Received: y=None")
    sizes = _check_batch_sizes(batch_sizes, examples)
    if target_loss is not None:
        target_loss = checks.check_nonnegative("target_loss", target_loss)
    max_epochs = checks.check_count("max_epochs", max_epochs)
    tf_keras = flavour.is_tf_keras(model)
    start = flavour.callback_type(_Start, tf_keras)(before_fit(model))
    evaluation = min(examples, EVALUATION_BATCH)
    rows = []
    try:
        for size in sizes:
            row = BatchSizeRow(size, math.ceil(examples / size))
            rows.append(row)
            try:
                model.fit(x, y, batch_size=size, epochs=1, shuffle=True, verbose=0, callbacks=[start])
                model.fit(x, y, batch_size=size, epochs=max_epochs, shuffle=True, verbose=verbose,
                          validation_data=(x, y), validation_batch_size=evaluation,
                          callbacks=[start, flavour.callback_type(_Clock, tf_keras)(row, target_loss)])
            except Exception as error:
                if not is_out_of_memory(error):
                    raise
                row.fits, row.error = False, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
                row.losses, row.seconds = [], []
            if row.fits and row.seconds:
                row.examples_per_second = examples * len(row.seconds) / row.seconds[-1]
    finally:
        if start.state is not None:
            start.state.restore()
    target_from = "argument"
    if target_loss is None:
        lowest = [min(row.losses) for row in rows if row.fits and row.losses]
        target_loss, target_from = (max(lowest) if lowest else math.nan), "lowest common"
    for row in rows:
        reached = [i for i, loss in enumerate(row.losses) if loss <= target_loss]
        if reached:
            row.epochs_to_target = reached[0] + 1
            row.seconds_to_target = row.seconds[reached[0]]
    return BatchSizeSweep(rows, float(target_loss), target_from, examples, max_epochs)
