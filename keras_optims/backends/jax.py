"""The JAX backend: the rule as `jax.numpy` operations inside Keras's step.

Keras compiles its whole train step with XLA under JAX (``fit`` and
``optimizer.stateless_apply`` alike), so the update is part of that one XLA
program; nothing here compiles anything itself. Every variable is read
through, and written with, its Keras variable (``variable.value``,
``variable.assign``), which is what makes the update work both statefully
(``optimizer.apply``) and statelessly (``stateless_apply`` in a user's own
``jax.jit`` loop).

Slots: one variable per model variable (`backends.PerVariableUpdater`). A flat
buffer would not help here: XLA writes a slice of an array by copying it.

Precision: the learning rate, the step and the per-step scalars are float64
when ``jax_enable_x64`` is on (required for float64 models), float32
otherwise, as every float in JAX then is. In float32, 1 − βᵗ is computed as
−expm1(t·ln β) (`Math.one_minus_power`): ``1 − β₂ᵗ`` from a float32 βᵗ would
lose about 4 of its 7 digits at β₂ = 0.999.
"""

import math

import jax.numpy as jnp

from keras_optims import backends


class Math:
    """The operations `rules.py` asks of a tensor library, for JAX arrays."""

    sqrt = staticmethod(jnp.sqrt)

    @staticmethod
    def like(x, reference):
        """`x` in `reference`'s dtype (a Python float is rounded once)."""
        return jnp.asarray(x, dtype=reference.dtype)

    @staticmethod
    def one_minus_power(beta, t):
        """1 − βᵗ for a Python float β and a scalar step `t`."""
        if t.dtype == jnp.float64:
            return 1.0 - beta**t
        log_beta = -math.inf if beta == 0.0 else math.log(beta)
        return -jnp.expm1(t * log_beta)


def as_float64(value):
    """A learning rate or step as an exact float64 scalar array (float32 under
    JAX without 64-bit floats: `backends.scalar_dtype()`)."""
    dtype = backends.scalar_dtype()
    if isinstance(value, (int, float)):
        return jnp.asarray(float(value), dtype=dtype)
    return jnp.asarray(getattr(value, "value", value)).astype(dtype)


class Updater(backends.PerVariableUpdater):
    """Applies the rule (see the module docstring); slots as
    `backends.PerVariableUpdater` lays them out."""

    path = "xla"  # the rule in jax.numpy, compiled by XLA with Keras's step

    def apply(self, optimizer, gradients, variables, learning_rate):
        lr, t = as_float64(learning_rate), as_float64(optimizer.iterations + 1)
        for gradient, variable in zip(gradients, variables):
            backends.check_variable_and_gradient(variable, jnp.shape(gradient))
            slots = self.slots_of(optimizer, variable)
            W = variable.value
            W, *new_slots = self.rule(
                W, jnp.asarray(gradient).astype(W.dtype), *(s.value for s in slots), lr=lr, t=t, math=Math
            )
            variable.assign(W)
            for slot, value in zip(slots, new_slots):
                slot.assign(value)
