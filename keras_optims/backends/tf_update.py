"""How a rule is applied to TensorFlow variables, for both Keras flavours:
Keras 3 on TensorFlow (`backends.tensorflow`, which adds the slots' layout)
and tf_keras (`keras_optims.tf_keras`).

The optimizer classes hand a rule (`rules.Bound`) to a `StepEngine`,
which runs it on TensorFlow variables one of three ways:

- the fused CPU kernel (`keras_optims.native`), by default for every float32
  or float64 variable on CPU: one op per dtype updates all the variables of a
  step, reading ``W``, ``dW`` and the slots once; the rule's per-step scalars
  come from its record's ``scalars`` function (`rules.py`), as float64. A
  model so small that the kernel's call costs more than its whole update
  runs as TensorFlow ops instead (`StepEngine.choose_path`, when the
  optimizer is built);
- XLA (``jit_compile=True``, the default), for what the kernel does not
  take (GPU variables, half precision, an update traced inside an
  XLA-compiled function, or everything when ``fused=False`` or the kernel
  cannot be built): the rule's new values are assigned inside one
  ``tf.function(jit_compile=True)``, also on CPU, where Keras's
  ``jit_compile="auto"`` leaves XLA off. All of them share one computation,
  which writes each flat slot buffer once, whole (a slice written into a
  variable inside XLA can cost a copy of the whole buffer: why large
  variables keep slot buffers of their own);
- TensorFlow ops: the same rule, uncompiled, with ``jit_compile=False``,
  inside a Keras model whose ``jit_compile`` is False or ``run_eagerly`` True
  (`keras_allows_xla`), on a device where XLA cannot run (`xla_runs_on`), and
  under a ``tf.distribute`` strategy other than the default one, where a
  variable is a distributed value that an XLA function cannot take.

A variable's slots are `Slot`s: a buffer and an offset. The Keras 3 classes
keep the slots of small variables in one flat buffer per slot and dtype (so
a step passes two buffers, not two variables per model variable, into the
kernel and the `tf.function`); a large variable's slot variables, and
tf_keras's, are buffers of their own, at offset 0. Every path reads and
writes a slot through its `Slot`.

In every case the learning rate and the step enter as float64 scalars,
converted without a detour through float32 (``tf.cast(0.9, tf.float64)``
would first make the Python float a float32 tensor and give 0.89999997…),
and a sparse gradient (``tf.IndexedSlices``, e.g. from ``Embedding``) is made
dense first: the course's rule updates every row, so the averages of rows
with no gradient in this batch still decay, exactly as with a dense zero
gradient.
"""

import collections
import numbers
import sys
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.python.ops import control_flow_util

from keras_optims import backends, native
from keras_optims.saved_state import size_of


def checked_gradient(gradient, variable):
    """The gradient, dense and in the variable's dtype; checked as on every
    backend (`backends.check_variable_and_gradient`): a variable that is not
    floating point, or a gradient whose shape is not the variable's, raises."""
    gradient = dense(gradient)
    known = tuple(gradient.shape.as_list()) if gradient.shape.rank is not None else (None,)
    backends.check_variable_and_gradient(variable, known)
    return tf.cast(gradient, variable.dtype)


class Math:
    """The operations `rules.py` asks of a tensor library, for TensorFlow."""

    sqrt = staticmethod(tf.sqrt)

    @staticmethod
    def one_minus_power(beta, t):
        """1 − βᵗ (`t` is a float64 tensor here, so is the result)."""
        return 1.0 - beta**t

    @staticmethod
    def like(x, reference):
        if isinstance(x, (numbers.Real, np.number)):
            # tf.cast(python_float, float64) would round through float32 first.
            return tf.constant(float(x), dtype=reference.dtype)
        return tf.cast(x, reference.dtype)


def as_float64(value):
    """A scalar learning rate or step as an exact float64 tensor."""
    if isinstance(value, (numbers.Real, np.number)):
        return tf.constant(float(value), dtype=tf.float64)
    return tf.cast(value, tf.float64)


def dense(gradient):
    """The gradient as a dense tensor (see the module docstring)."""
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient


class Slot(collections.namedtuple("Slot", ["buffer", "offset"])):
    """Where one variable's slot lives: in `buffer` (a `tf.Variable`), from
    element `offset`, as many elements as the variable has. The buffer is
    either the slot itself (a variable of the model variable's shape,
    offset 0) or a flat buffer shared by every variable of one dtype."""

    __slots__ = ()

    def whole(self, variable):
        """Whether the buffer is this variable's slot alone."""
        return self.offset == 0 and self.buffer.shape == variable.shape

    def read(self, variable):
        """The slot's value, in `variable`'s shape."""
        if self.whole(variable):
            return self.buffer.read_value()
        return tf.reshape(self.buffer[self.offset : self.offset + size_of(variable)], variable.shape)

    def assign(self, variable, value):
        """Writes `value` (in `variable`'s shape) into the slot, in place."""
        if self.whole(variable):
            self.buffer.assign(value)
        else:
            self.buffer[self.offset : self.offset + size_of(variable)].assign(tf.reshape(value, [-1]))


def _in_xla_context():
    """Whether ops created now are traced into an XLA-compiled function (a
    custom op has no XLA kernel there)."""
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def _accelerators():
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


class FusedKernelUnavailable(native.NativeUnavailable, backends.FusedUnavailable):
    """``fused=True``, and the fused kernel cannot be used here."""


def calling_model(depth=200):
    """The Keras model (Keras 3 or tf_keras) whose training step is running
    the current update, if any: the nearest caller that is a model, within
    `depth` frames (tf_keras 2.16's autograph puts the model ~70 frames
    above the update, Keras 3.15's ~20)."""
    frame = sys._getframe(1)
    for _ in range(depth):
        if frame is None:
            return None
        candidate = frame.f_locals.get("self")
        if candidate is not None and all(
            hasattr(type(candidate), name) for name in ("train_step", "run_eagerly", "jit_compile")
        ):
            return candidate
        frame = frame.f_back
    return None


def keras_allows_xla():
    """Whether the Keras model whose step this is (if any) allows XLA:
    ``model.compile(jit_compile=False)`` and ``run_eagerly=True`` do not.
    (Keras 3 resolves ``jit_compile="auto"``: off on CPU-only TensorFlow;
    tf_keras leaves it None unless it is given.)"""
    model = calling_model()
    return model is None or not (model.run_eagerly or model.jit_compile is False)


_xla_devices = {}
_xla_probe = None


def xla_runs_on(device):
    """Whether XLA compiles and runs on `device` (a variable's device
    string); tried once per device, eagerly. Where it does not, one warning
    says so and the update runs as TensorFlow ops there."""
    global _xla_probe
    if device not in _xla_devices:
        if _xla_probe is None:
            _xla_probe = tf.function(lambda x: x * 2.0, jit_compile=True, autograph=False)
        try:
            with tf.init_scope(), tf.device(device or None):
                _xla_probe(tf.constant([1.0, 2.0]))
            _xla_devices[device] = True
        except (tf.errors.OpError, RuntimeError, ValueError) as error:
            _xla_devices[device] = False
            reason = " ".join(str(error).split())[:300] or type(error).__name__
            warnings.warn(
                f"keras_optims: XLA cannot run on {device or 'the default device'} ({reason}); "
                "the course optimizers' update runs as TensorFlow ops there.",
                RuntimeWarning,
                stacklevel=4,
            )
    return _xla_devices[device]


# Up to this size, under fused=None, the rule runs as TensorFlow ops instead
# of the fused kernel: the kernel's call has a fixed cost (the op with its
# list of inputs and the float64 scalars), which on a model this small is
# more than the whole update. Measured with benchmarks/update_path.py
# (2026-12-07, 2 CPU cores, TF 2.21, 21 interleaved rounds of 300 fit
# steps, ms per step, kernel / TensorFlow ops): 6 variables of 30, 337 and
# 1,185 elements 1.13, 1.15, 1.11 (gradient descent) and 1.02, 1.04, 1.02
# (Adam); 10 variables 1.08 and 0.99; 18 variables 1.05 and 0.99; in a
# wider run, 6 variables of 4,417 elements 1.05 and 0.89, 66 variables
# 1.01 and 0.53. See docs/guides/performance.md, "Which path the update takes".
SMALL_MODEL_ELEMENTS = 2048
SMALL_MODEL_VARIABLES = 8


def small_model(variables):
    """Whether `variables` (those the fused kernel could take) are so few and
    small that TensorFlow ops update them faster than one fused call."""
    return (len(variables) <= SMALL_MODEL_VARIABLES
            and sum(size_of(v) for v in variables) <= SMALL_MODEL_ELEMENTS)


def assign_new_value(variable, old, new):
    """Writes the rule's new ``W`` into `variable`, whose value read for the
    rule was `old`. Every rule's ``W`` is ``old − Δ``; traced into a graph,
    where the ops are visible, that is written as ``variable.assign_sub(Δ)``,
    the same subtraction done by the assignment itself (as Keras's own
    optimizers do), so the graph keeps neither the read of ``W`` nor a
    separate subtraction: two ops fewer per variable, on a model of a few
    tiny variables whose step is mostly such per-op costs. Otherwise
    (eager, or a rule whose ``W`` is something else) the new value is
    assigned."""
    if not tf.executing_eagerly() and new.op.type == "Sub":
        minuend, delta = new.op.inputs
        if minuend.ref() == old.ref() and delta.shape == variable.shape and delta.dtype == variable.dtype:
            variable.assign_sub(delta)
            return
    variable.assign(new)


class StepEngine:
    """Applies ``rule(W, dW, *slots, lr=…, t=…, math=…)`` to TF variables.

    Args:
        rule: a `rules.Bound` (a rule with its hyperparameters); it returns
            ``(W, *slots)``.
        jit_compile: run what the fused kernel does not take XLA-compiled.
        fused: ``None`` (use the fused kernel for every variable it can take,
            see the module docstring, unless the model is small enough that
            TensorFlow ops are faster: `choose_path`), ``True`` (require it:
            raise where it cannot be used) or ``False`` (never use it).
    """

    def __init__(self, rule, jit_compile=True, fused=None):
        self.rule = rule
        self.jit_compile = jit_compile
        self.fused = fused
        # How many variable updates each path has run or traced ("fused",
        # "xla", "ops"): what tests and curious users can check.
        self.updates_by_path = collections.Counter()
        self._kernel = rule.native  # the fused CPU kernel's entry, or None
        self.path = None  # chosen when the optimizer is built (`choose_path`)
        self._compiled = tf.function(self._update, jit_compile=True, autograph=False)
        backends.refuse_fused(fused, self.fused_refusal(rule))
        if fused:
            try:
                native.load()
            except native.NativeUnavailable as error:
                raise FusedKernelUnavailable(
                    f"fused=True needs the fused CPU kernel, which cannot be used here: {error}. "
                    "fused=None (the default) runs the update with XLA where the kernel is unavailable."
                ) from None

    @staticmethod
    def fused_refusal(rule):
        """Why `fused=True` cannot be honoured for `rule` (None if it can:
        the kernel has a form of each rule of `rules.py`)."""
        return None if rule.native else f"the fused CPU kernel has no form of {rule.rule.name}"

    def choose_path(self, variables):
        """Chooses, once, when the optimizer is built, how the variables that
        the fused kernel could take are updated, and returns it: "fused"
        (the kernel) or "tensorflow" (the rule as TensorFlow ops, XLA-compiled
        where `uses_xla` allows). ``fused=True`` is "fused", ``fused=False``
        "tensorflow"; ``fused=None`` is "fused" unless the kernel cannot be
        had, or the model is small enough (`small_model`) that its fixed
        cost per call is more than the update. A variable the kernel cannot
        take (a GPU, half precision) runs as TensorFlow ops either way."""
        if self.fused is False or self._kernel is None:
            self.path = "tensorflow"
        elif self.fused:
            self.path = "fused"
        else:
            eligible = [v for v in variables if self.kernel_refusal(v) is None]
            self.path = "fused" if eligible and not small_model(eligible) else "tensorflow"
            if self.path == "fused":
                try:
                    native.load()
                except native.NativeUnavailable as error:
                    native.warn_unavailable(error)  # once; training goes on with TensorFlow ops or XLA
                    self.path = "tensorflow"
        return self.path

    def _new_values(self, variable, gradient, slots, learning_rate, step):
        """The rule's ``(W, *slots)`` and the ``W`` it read."""
        W = variable.read_value()
        return W, self.rule(W, gradient, *(slot.read(variable) for slot in slots), lr=learning_rate, t=step,
                            math=Math)

    def _update(self, variables, gradients, slots, learning_rate, step):
        """The rule as TensorFlow ops (or, traced by `_compiled`, as one XLA
        computation). A slot in a shared flat buffer is written in place
        as a slice; under XLA, where a slice written into a variable can cost
        a copy of the whole buffer, each flat buffer is written once,
        whole, from its untouched parts and the new slots."""
        pending = {}  # flat buffer -> (buffer, [(offset, new flat values)])
        xla = _in_xla_context()
        for variable, gradient, variable_slots in zip(variables, gradients, slots):
            old, (W, *new_slots) = self._new_values(variable, gradient, variable_slots, learning_rate, step)
            assign_new_value(variable, old, W)
            for slot, value in zip(variable_slots, new_slots):
                if xla and not slot.whole(variable):
                    entry = pending.setdefault(id(slot.buffer), (slot.buffer, []))
                    entry[1].append((slot.offset, tf.reshape(value, [-1])))
                else:
                    slot.assign(variable, value)
        for buffer, parts in pending.values():
            old, pieces, position = buffer.read_value(), [], 0
            for offset, values in sorted(parts, key=lambda part: part[0]):
                if offset > position:
                    pieces.append(old[position:offset])
                pieces.append(values)
                position = offset + int(values.shape[0])
            if position < int(buffer.shape[0]):
                pieces.append(old[position:])
            buffer.assign(tf.concat(pieces, axis=0))

    def uses_xla(self, variables=()):
        """Whether what the fused kernel does not take (`variables`) runs
        XLA-compiled now: ``jit_compile``, no ``tf.distribute`` strategy,
        a Keras model whose step this is that allows it (`keras_allows_xla`)
        and XLA running on the variables' device (`xla_runs_on`)."""
        return (
            self.jit_compile
            and not tf.distribute.has_strategy()
            and keras_allows_xla()
            and all(xla_runs_on(device) for device in {v.device for v in variables})
        )

    def kernel_refusal(self, variable):
        """Why the fused kernel cannot update `variable` now (None if it can)."""
        if variable.dtype not in native.DTYPES:
            return f"it takes float32 and float64 variables, and {variable.name!r} is {variable.dtype.name}"
        device = (variable.device or "").upper()
        if "GPU" in device or "TPU" in device:
            return f"it runs on CPU, and {variable.name!r} is on {variable.device}"
        if not device and _accelerators():
            return f"it runs on CPU, and {variable.name!r} has no device yet while an accelerator is present"
        return None

    def _split_fused(self, variables):
        """Indices of the variables the fused kernel takes, and of the rest."""
        if self.fused is False or self._kernel is None or self.path == "tensorflow":
            return [], list(range(len(variables)))
        reason = "the update is traced inside an XLA-compiled function" if _in_xla_context() else None
        if reason is None:
            try:
                native.load()
            except native.NativeUnavailable as error:
                if self.fused:
                    raise
                native.warn_unavailable(error)
                return [], list(range(len(variables)))
        fused, rest = [], []
        for index, variable in enumerate(variables):
            refusal = reason or self.kernel_refusal(variable)
            if refusal is not None and self.fused:
                raise ValueError(f"fused=True, but the fused CPU kernel cannot be used: {refusal}.")
            (rest if refusal else fused).append(index)
        return fused, rest

    def scalars(self, learning_rate, step):
        """The rule's per-step scalars as one float64 vector."""
        values = self.rule.scalars(lr=learning_rate, t=step, math=Math)
        return tf.stack([as_float64(value) for value in values])

    def __call__(self, variable, gradient, slots, learning_rate, step):
        """Updates `variable` (a `tf.Variable`) and its `slots` (`Slot`s)."""
        self.update_all([variable], [gradient], [slots], learning_rate, step)

    def update_all(self, variables, gradients, slots, learning_rate, step):
        """Updates every variable (with `slots`, one tuple of `Slot`s per
        variable).

        The fused kernel takes what it can, one op per dtype (and slot
        buffers); the rest runs in one XLA computation or, without XLA, as
        TensorFlow ops."""
        gradients = [checked_gradient(g, v) for g, v in zip(gradients, variables)]
        learning_rate, step = as_float64(learning_rate), as_float64(step)
        fused, rest = self._split_fused(variables)
        xla = bool(rest) and self.uses_xla([variables[i] for i in rest])
        self.updates_by_path.update({"fused": len(fused), "xla" if xla else "ops": len(rest)})
        self.updates_by_path += collections.Counter()  # drops paths that ran nothing
        if fused:
            scalars = self.scalars(learning_rate, step)
            groups = {}
            for i in fused:
                key = (variables[i].dtype, tuple(id(slot.buffer) for slot in slots[i]))
                groups.setdefault(key, []).append(i)
            for group in groups.values():
                native.update(
                    self._kernel,
                    [variables[i] for i in group],
                    [gradients[i] for i in group],
                    [slot.buffer for slot in slots[group[0]]],
                    [slots[i][0].offset if slots[i] else 0 for i in group],
                    scalars,
                )
        if rest:
            run = self._compiled if xla else self._update
            run(
                [variables[i] for i in rest],
                [gradients[i] for i in rest],
                [slots[i] for i in rest],
                learning_rate,
                step,
            )
