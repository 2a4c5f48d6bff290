"""Everything TensorFlow-specific about applying a rule to a variable.

The optimizer classes (both Keras flavours) hand a rule from `rules.py` to a
`VariableUpdate`, which runs it on TensorFlow variables:

- the rule's new values are assigned to the variable and its slots inside one
  ``tf.function(jit_compile=True)``, so XLA fuses the element-wise math and a
  step reads ``W``, ``dW`` and the slots once (also on CPU, where Keras's
  ``jit_compile="auto"`` leaves XLA off). One compiled function serves every
  variable of the same shape and dtype;
- the learning rate and the step enter as float64 scalars, converted without
  a detour through float32 (``tf.cast(0.9, tf.float64)`` would first make the
  Python float a float32 tensor and give 0.89999997…);
- a sparse gradient (``tf.IndexedSlices``, e.g. from ``Embedding``) is made
  dense first: the course's rule updates every row, so the averages of rows
  with no gradient in this batch still decay, exactly as with a dense zero
  gradient.

How variables are grouped into XLA computations is the optimizer's choice
(`CourseOptimizer._backend_update_step`): large variables share one
computation, small ones get one each (measured on a 2-core CPU: one
computation over four 1M-element variables is ~15% faster than four; over
200 variables of 10K elements it is ~15% slower than 200 separate ones,
which TensorFlow runs two at a time, while XLA runs a computation's
element-wise loops one after another).

XLA is not used (the same rule runs as ordinary TensorFlow ops) when the
optimizer was built with ``jit_compile=False`` or when the update runs under a
``tf.distribute`` strategy other than the default one, where a variable is a
distributed value that an XLA function cannot take as an argument.
"""

import numbers

import numpy as np
import tensorflow as tf


def checked_gradient(gradient, variable):
    """The gradient, dense and in the variable's dtype; a gradient whose
    shape is not the variable's raises (the rule would otherwise broadcast
    it silently)."""
    name = variable.name.split(":")[0]
    if not variable.dtype.is_floating:
        raise TypeError(
            f"The course optimizers update floating-point variables; variable "
            f"{name!r} has dtype {variable.dtype.name}."
        )
    gradient = tf.cast(dense(gradient), variable.dtype)
    if gradient.shape.is_fully_defined() and gradient.shape != variable.shape:
        raise ValueError(
            f"The gradient of variable {name!r} has shape {gradient.shape}, "
            f"but the variable has shape {variable.shape}; they must be equal."
        )
    return gradient


class TensorMath:
    """The two operations `rules.py` asks of a tensor library."""

    sqrt = staticmethod(tf.sqrt)

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


class VariableUpdate:
    """Applies ``rule(W, dW, *slots, lr=…, t=…, math=…)`` to TF variables.

    Args:
        rule: a function of `rules.py` with its hyperparameters bound
            (``functools.partial``); it returns ``(W, *slots)``.
        jit_compile: compile the update with XLA (see the module docstring).
    """

    def __init__(self, rule, jit_compile=True):
        self._rule = rule
        self.jit_compile = jit_compile
        self._compiled = tf.function(self._update, jit_compile=True, autograph=False)
        self._compiled_group = tf.function(self._update_group, jit_compile=True, autograph=False)

    def _update(self, variable, gradient, slots, learning_rate, step):
        new_values = self._rule(
            variable.read_value(),
            gradient,
            *(slot.read_value() for slot in slots),
            lr=learning_rate,
            t=step,
            math=TensorMath,
        )
        for target, value in zip((variable, *slots), new_values):
            target.assign(value)

    def _update_group(self, variables, gradients, slots, learning_rate, step):
        for variable, gradient, variable_slots in zip(variables, gradients, slots):
            self._update(variable, gradient, variable_slots, learning_rate, step)

    def uses_xla(self):
        """Whether the next update runs XLA-compiled."""
        return self.jit_compile and not tf.distribute.has_strategy()

    def __call__(self, variable, gradient, slots, learning_rate, step):
        """Updates `variable` (a `tf.Variable`) and `slots` (a tuple of them)."""
        gradient = checked_gradient(gradient, variable)
        args = (variable, gradient, slots, as_float64(learning_rate), as_float64(step))
        if self.uses_xla():
            self._compiled(*args)
        else:
            self._update(*args)

    def update_group(self, variables, gradients, slots, learning_rate, step):
        """Updates several variables in one XLA computation (one launch for
        all of them), or with one `__call__` each where XLA is not used."""
        if not self.uses_xla():
            for variable, gradient, variable_slots in zip(variables, gradients, slots):
                self(variable, gradient, variable_slots, learning_rate, step)
            return
        gradients = [checked_gradient(g, v) for g, v in zip(gradients, variables)]
        self._compiled_group(variables, gradients, slots, as_float64(learning_rate), as_float64(step))
