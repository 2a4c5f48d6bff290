"""What the tuning tools need to know of a model and its data before they train."""

import dataclasses
import math

import keras
import numpy as np

from keras_optims import checks
from keras_optims.tuning import flavour

DEFAULT_BATCH_SIZE = 32  # fit's own default


@dataclasses.dataclass
class Plan:
    """How `fit` is called: batch_size (None for data that is batched already),
    epochs, and the number of examples m (None where the data does not say)."""

    batch_size: object
    epochs: int
    examples: object


def check_compiled(model):
    if not flavour.is_model(model):
        raise TypeError(f"Argument `model` must be a keras.Model (or a tf_keras.Model). Received: model={model!r}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", getattr(model, "_is_compiled", True)):
        raise ValueError(
            "Argument `model` must be compiled with an optimizer and a loss first "
            f"(model.compile(optimizer=..., loss=...)). Received: model={model.name!r}, not compiled"
        )


def _is_sequence(x):
    """A `keras.utils.PyDataset`, or tf_keras's `Sequence` (indexed batches with a length)."""
    return isinstance(x, keras.utils.PyDataset) or all(
        hasattr(x, name) for name in ("__getitem__", "__len__", "on_epoch_end"))


def _first_array(x):
    while isinstance(x, (dict, list, tuple)):
        if not x:
            return None
        x = next(iter(x.values())) if isinstance(x, dict) else x[0]
    return x


def examples_in(x):
    """m for array-like `x` (NumPy, a backend tensor, or a dict/list of them), else None."""
    array = _first_array(x)
    shape = getattr(array, "shape", None)
    if shape is None or not len(shape) or _is_sequence(x):
        return None
    return int(shape[0])


def batches_in(x):
    """The number of batches of a `PyDataset` or `tf.data.Dataset`, None if unknown or infinite."""
    if _is_sequence(x):
        return len(x)
    cardinality = getattr(x, "cardinality", None)
    if cardinality is not None and type(x).__module__.startswith("tensorflow"):
        count = int(cardinality().numpy())
        return count if count >= 0 else None
    return None


def plan(x, y, batch_size, steps):
    """The batch size and number of epochs for at least `steps` steps
    (a caller stops training once it has them)."""
    if x is None:
        raise ValueError("Argument `x` must hold the training data. Received: x=None")
    examples = examples_in(x)
    if examples is not None:
        batch_size = DEFAULT_BATCH_SIZE if batch_size is None else checks.check_count("batch_size", batch_size)
        if examples == 0:
            raise ValueError(f"Argument `x` holds no examples. Received: x with shape {np.shape(_first_array(x))}")
        per_epoch = math.ceil(examples / batch_size)
        return Plan(batch_size, math.ceil(steps / per_epoch), examples)
    if batch_size is not None:
        raise ValueError(
            "Argument `batch_size` is for arrays: a dataset, PyDataset or generator is batched "
            f"already. Received: batch_size={batch_size!r}"
        )
    batches = batches_in(x)
    if batches == 0:
        raise ValueError(f"Argument `x` holds no batches. Received: x={x!r}")
    # Unknown length (a generator): one epoch, which ends when the generator
    # runs out (Keras would replay the batches it peeked at in a second).
    return Plan(None, math.ceil(steps / batches) if batches else 1, None)
