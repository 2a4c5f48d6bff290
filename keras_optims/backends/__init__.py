"""How an update is applied, one module per Keras 3 backend.

The rules (`keras_optims.rules`) are written once; each backend module
supplies only what differs between tensor libraries:

- ``Math``: the few operations a rule asks of a tensor library
  (``sqrt``, ``like``: a scalar in another tensor's dtype, and
  ``one_minus_power``: 1 − βᵗ for the bias corrections);
- ``Updater``: the contract `Updater` below writes down (build the slots,
  apply a step, read and write the slots, refuse ``fused=True``, per-replica
  updates); adding a backend means a module with these two and its row in
  `keras_optims.compat.BACKENDS`, the one table of backends.

| backend | module | how a step runs |
| --- | --- | --- |
| TensorFlow | `backends.tensorflow` (slots), `backends.tf_update` (steps, with tf_keras) | the fused CPU kernel (`keras_optims.native`), XLA elsewhere; small variables' slots in flat buffers |
| JAX | `backends.jax` | inside Keras's jitted train step (one XLA program); one slot variable per model variable |
| PyTorch | `backends.torch` | in place, all variables of a dtype and device at once: torch's fused SGD and Adam kernels where one computes the rule, in-place `torch._foreach_*_` ops otherwise |

Only the module of the backend in use is imported, so under JAX or PyTorch
TensorFlow is never imported.
"""

import importlib

import keras
import numpy as np

from keras_optims.compat import BACKENDS

SUPPORTED = tuple(BACKENDS)  # tensorflow, jax, torch: one list, with the extra of each


def name():
    """The Keras backend in use."""
    return keras.backend.backend()


def check_supported():
    """The backend's name, or a ValueError naming it and the supported ones."""
    backend = name()
    if backend not in SUPPORTED:
        raise ValueError(
            f"keras_optims runs on the Keras backends {', '.join(SUPPORTED)}; the current "
            f"backend is {backend!r}. Set KERAS_BACKEND to one of them before importing keras."
        )
    return backend


def current():
    """The module of the backend in use (see the table above)."""
    return importlib.import_module(f"keras_optims.backends.{check_supported()}")


def device():
    """Where Keras computes on the current backend: ``{"kind": "cpu" | "gpu"
    | …, "name": …}`` (JAX's default backend; PyTorch's CUDA device when
    Keras uses one; TensorFlow's first GPU when it has one)."""
    import platform

    backend = name()
    if backend == "jax":
        import jax

        first = jax.devices()[0]
        return {"kind": jax.default_backend(), "name": getattr(first, "device_kind", str(first))}
    if backend == "torch":
        import torch
        from keras.src.backend.torch.core import get_device

        if str(get_device()).startswith("cuda"):
            return {"kind": "gpu", "name": torch.cuda.get_device_name(0)}
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return {"kind": "gpu", "name": gpus[0].name}
    return {"kind": "cpu", "name": platform.processor() or platform.machine()}


def float64_available():
    """Whether float64 tensors exist: always, except under JAX without
    ``jax_enable_x64`` (JAX then makes every float64 a float32)."""
    if name() == "jax":
        import jax

        return bool(jax.config.jax_enable_x64)
    return True


def scalar_dtype():
    """The dtype of learning rates, steps and per-step scalars: float64
    where it exists (see `float64_available`)."""
    return "float64" if float64_available() else "float32"


def check_variable_and_gradient(variable, gradient_shape):
    """Raises for a variable the rules cannot update (not floating point) or
    a gradient whose shape is not the variable's (the rule would broadcast
    it silently). `gradient_shape` may hold None for unknown dimensions."""
    name = getattr(variable, "path", None) or variable.name.split(":")[0]
    dtype = keras.backend.standardize_dtype(variable.dtype)
    if "float" not in dtype:
        raise TypeError(
            f"The course optimizers update floating-point variables; variable {name!r} has dtype {dtype}."
        )
    shape = tuple(gradient_shape)
    if None not in shape and shape != tuple(variable.shape):
        raise ValueError(
            f"The gradient of variable {name!r} has shape {shape}, "
            f"but the variable has shape {tuple(variable.shape)}; they must be equal."
        )


class FusedUnavailable(ValueError):
    """``fused=True`` cannot be honoured here (another backend, a rule the
    kernel has no form of, or a kernel that cannot be built): a config that
    asks for it still loads, with ``fused=None`` and a warning
    (`Algorithm.from_config`)."""


def refuse_fused(fused, refusal):
    """Raises `FusedUnavailable` when ``fused=True`` and a backend gave a
    reason (`Updater.fused_refusal`) why it cannot be honoured."""
    if fused and refusal:
        raise FusedUnavailable(f"Argument `fused` cannot be True here: {refusal}. Received: fused=True")


class Updater:
    """The contract between the Keras 3 optimizer classes (`optimizer.py`) and
    a backend: each backend module's ``Updater`` implements it, and the
    optimizer calls nothing else.

    Args:
        rule: a `rules.Bound`: a rule with its hyperparameters (its record
            names the slots, `slot_names`).
        jit_compile: the TensorFlow backend's switch (XLA); no effect elsewhere.
        fused: None, True or False: whether a backend's fused kernel may
            (None), must (True) or must not (False) be used where it has one
            that computes the rule; True raises `FusedUnavailable` where
            `fused_refusal` gives a reason.

    What a backend supplies:

    - `fused_refusal(rule)`: why ``fused=True`` cannot be honoured for the
      rule (a sentence), or None;
    - `build(optimizer, variables)`: creates the slots;
    - `apply(optimizer, gradients, variables, learning_rate)`: one step of
      every (gradient, variable) pair;
    - `slot_value(optimizer, variable, name)`: a slot in the variable's shape;
    - `slot_arrays(optimizer)` and `assign_slots(optimizer, arrays)`: every
      slot as NumPy arrays, one per model variable and course symbol (``v``,
      ``s`` of the first variable, then of the second, …) and back: what is
      saved (`keras_optims.saved_state`), whatever the layout in memory;
    - `per_replica()`: whether Keras's own per-replica update must run
      instead of `apply` (under a `tf.distribute` strategy); False here.
    """

    def __init__(self, rule, jit_compile=True, fused=None):
        refuse_fused(fused, self.fused_refusal(rule))
        self.rule = rule
        self.jit_compile = jit_compile
        self.fused = fused

    @property
    def slot_names(self):
        """The course symbols of the rule's slots, in the order it takes them."""
        return self.rule.rule.slots

    @staticmethod
    def fused_refusal(rule):
        raise NotImplementedError

    def build(self, optimizer, variables):
        raise NotImplementedError

    def apply(self, optimizer, gradients, variables, learning_rate):
        raise NotImplementedError

    def slot_value(self, optimizer, variable, name):
        raise NotImplementedError

    def slot_arrays(self, optimizer):
        raise NotImplementedError

    def assign_slots(self, optimizer, arrays):
        raise NotImplementedError

    def per_replica(self):
        return False


class PerVariableUpdater(Updater):
    """What the JAX and PyTorch updaters share: one slot variable per model
    variable and course symbol, created the way Keras's built-ins create
    theirs (`add_optimizer_variables`: the slots of one variable next to each
    other, ``v``, ``s`` of the first variable, then of the second, …), named
    ``<variable>_v``. This is also the order in which every backend saves
    its slots (`keras_optims.saved_state`). Subclasses implement `apply`.
    """

    _by_index = ()

    @staticmethod
    def fused_refusal(rule):
        return (f"the backend is {name()}, which has no fused kernel (TensorFlow has this package's native "
                "CPU op, PyTorch torch's fused SGD and Adam kernels)")

    def build(self, optimizer, variables):
        if self.slot_names:
            created = optimizer.add_optimizer_variables(variables, list(self.slot_names))
            self._by_index = list(zip(*created))
        else:
            self._by_index = [() for _ in variables]

    def slots_of(self, optimizer, variable):
        """The slot variables of a model variable, in `slot_names` order."""
        return self._by_index[optimizer._get_variable_index(variable)]

    def slot_value(self, optimizer, variable, name):
        return self.slots_of(optimizer, variable)[self.slot_names.index(name)].value

    def slot_arrays(self, optimizer):
        return [np.asarray(slot.numpy()) for slots in self._by_index for slot in slots]

    def assign_slots(self, optimizer, arrays):
        for slot, value in zip((slot for slots in self._by_index for slot in slots), arrays):
            slot.assign(value)
