"""The step drivers of the verification suite and the test suite: each runs
an optimizer on variables it makes (`start`), takes a step with given
gradients (`apply`) and reads W and the slots back as NumPy arrays
(`state`); `run` takes a whole gradient sequence.

- `Driver`: a Keras 3 optimizer (ours, Keras's, a user's; any backend) or a
  tf_keras one, eagerly or, for `verify`, compiled as `fit` runs it;
- `TorchDriver`: a `torch.optim` optimizer on CPU tensors;
- `OptaxDriver`: an optax transformation on JAX arrays.
"""

import logging

import keras
import numpy as np

from keras_optims import compat


class _OwnRetracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning where it
    names the drivers' own step function, and nothing else: every `Driver`
    traces its steps once, for its own new optimizer and variables, and
    TensorFlow counts those traces together (by the function's code) as if
    one function were retraced. A user's own functions still warn."""

    def filter(self, record):
        message = record.getMessage()
        own = f"<function {Driver._tf_steps.__qualname__}.<locals>.steps at "
        return not ("triggered tf.function retracing" in message and own in message)


_RETRACING = _OwnRetracing()


class Driver:
    """Runs a Keras optimizer step by step and reads back W and its slots.

    Keras 3 optimizers (ours, Keras's, a user's; any backend) run on Keras
    variables with `optimizer.apply`, tf_keras optimizers on tf.Variables
    with `apply_gradients`.

    Args:
        optimizer: the optimizer to drive.
        slots: the slots to read, by name: a sequence of course symbols
            (read with the optimizer's `get_slot(variable, symbol)`), or a
            dict name -> where the optimizer keeps it: an attribute holding
            one variable per model variable (Keras's convention, e.g.
            ``{"s": "_velocities"}``), a callable ``(optimizer, variable) ->
            array``, or None (`get_slot`).
        wrap: optional function wrapping the step before it runs (e.g.
            ``tf.function``), called with the step function.
        compiled: let `run` take the steps compiled, as `fit` takes them,
            with the optimizer built first, as `fit` builds it. On
            TensorFlow (Keras 3 or tf_keras): one ``tf.function`` call per
            `STEPS_PER_CALL` steps, a ``tf.while_loop`` that reads W and
            every slot after each step, all returned in one transfer (read
            eagerly, each slot in a flat buffer is an op of its own). On
            JAX: the optimizer's ``stateless_apply`` under ``jax.jit``, one
            call per step, W and the slots read inside it. On PyTorch, and
            with `wrap`, the steps run eagerly. Not for slots read by a
            callable, which may use NumPy.
    """

    STEPS_PER_CALL = 100

    def __init__(self, optimizer, slots=(), wrap=None, compiled=False):
        self.optimizer = optimizer
        self.slots = dict(slots) if isinstance(slots, dict) else {s: None for s in slots}
        self.tf_keras = type(optimizer).__module__.startswith(("tf_keras", "keras_optims.tf_keras"))
        self.wrap = wrap
        engine = "tensorflow" if self.tf_keras else keras.backend.backend()
        self.compiled = engine if compiled and wrap is None and engine in ("tensorflow", "jax") else None
        if self.compiled and any(callable(where) for where in self.slots.values()):
            raise ValueError("Driver(compiled=True) reads every slot inside the compiled step; a slot read by a "
                             f"callable may use NumPy there. Received: slots={slots!r}")

    def start(self, weights, dtype):
        """New variables holding `weights` (arrays) in `dtype`."""
        self.dtype = dtype
        if self.tf_keras:
            import tensorflow as tf

            self.variables = [tf.Variable(np.asarray(w).astype(dtype)) for w in weights]
            step = lambda grads: self.optimizer.apply_gradients(zip(grads, self.variables))  # noqa: E731
        else:
            self.variables = [keras.Variable(np.asarray(w).astype(dtype)) for w in weights]
            step = lambda grads: self.optimizer.apply(grads, self.variables)  # noqa: E731
        self._step = self.wrap(step) if self.wrap else step
        if self.compiled:
            self.optimizer.build(self.variables)  # as fit builds it: before the first step
        self._steps = {"tensorflow": self._tf_steps, "jax": self._jax_steps, None: lambda step: None}[self.compiled](step)
        return self

    def apply(self, grads):
        """One step with `grads` (arrays, one per variable)."""
        self._step([keras.ops.convert_to_tensor(np.asarray(g).astype(self.dtype)) for g in grads]
                   if not self.tf_keras else [self._tf_constant(g) for g in grads])

    def run(self, grads):
        """The steps with `grads` (one list of arrays per step); returns
        `state()` after each step."""
        if self._steps is None:
            return step_by_step(self, grads)
        states = []
        for start in range(0, len(grads), self.STEPS_PER_CALL):
            chunk = grads[start : start + self.STEPS_PER_CALL]
            stacked = [np.stack([np.asarray(g[i]).astype(self.dtype) for g in chunk]) for i in range(len(self.variables))]
            outputs = [np.asarray(tensor) for tensor in self._steps(stacked)]
            for k in range(len(chunk)):
                values = iter(output[k] for output in outputs)
                weights = [next(values) for _ in self.variables]
                states.append((weights, {s: [next(values) for _ in self.variables] for s in self.slots}))
        return states

    def _tf_steps(self, step):
        """A tf.function taking gradients stacked along a first (step) axis:
        it takes the steps in a `tf.while_loop` and returns W and each slot
        after every step, stacked the same way (W of each variable, then
        each slot of each variable)."""
        import tensorflow as tf

        signature = [tf.TensorSpec([None, *v.shape], self.dtype) for v in self.variables]

        def read():
            tensors = [tf.convert_to_tensor(v) for v in self.variables]
            return tensors + [tf.convert_to_tensor(self._slot(v, s)) for s in self.slots for v in self.variables]

        def steps(grads):
            count = tf.shape(grads[0])[0]
            shapes = [v.shape for v in self.variables] * (1 + len(self.slots))
            arrays = [tf.TensorArray(self.dtype, size=count, element_shape=shape) for shape in shapes]

            def body(k, arrays):
                step([g[k] for g in grads])
                return k + 1, [array.write(k, value) for array, value in zip(arrays, read())]

            _, arrays = tf.while_loop(lambda k, _: k < count, body, (tf.constant(0), arrays), parallel_iterations=1)
            return [array.stack() for array in arrays]

        if _RETRACING not in logging.getLogger("tensorflow").filters:
            logging.getLogger("tensorflow").addFilter(_RETRACING)
        return tf.function(steps, input_signature=[signature], autograph=False)

    def _jax_steps(self, step):
        """The same for JAX: each step is the optimizer's `stateless_apply`
        (what `fit` runs under JAX), compiled once with `jax.jit`, W and
        the slots read inside it; the variables hold the last step's values
        afterwards."""
        import jax
        import jax.numpy as jnp

        optimizer, variables = self.optimizer, self.variables

        @jax.jit
        def one_step(values, optimizer_values, grads):
            values, optimizer_values = optimizer.stateless_apply(optimizer_values, grads, values)
            mapping = list(zip(variables, values)) + list(zip(optimizer.variables, optimizer_values))
            with keras.StatelessScope(state_mapping=mapping):
                read = [v.value for v in variables]
                read += [jnp.asarray(keras.ops.convert_to_tensor(self._slot(v, s))) for s in self.slots for v in variables]
            return values, optimizer_values, read

        def steps(stacked):
            values, optimizer_values = [v.value for v in variables], [v.value for v in optimizer.variables]
            reads = []
            for k in range(len(stacked[0])):
                values, optimizer_values, read = one_step(values, optimizer_values, [jnp.asarray(g[k]) for g in stacked])
                reads.append(read)
            for variable, value in zip([*variables, *optimizer.variables], [*values, *optimizer_values]):
                variable.assign(value)
            return [np.stack([np.asarray(read[i]) for read in reads]) for i in range(len(reads[0]))]

        return steps

    def _tf_constant(self, g):
        import tensorflow as tf

        return tf.constant(np.asarray(g).astype(self.dtype))

    def _slot(self, variable, symbol):
        attribute = self.slots[symbol]
        if attribute is None:
            return self.optimizer.get_slot(variable, symbol)
        if callable(attribute):
            return attribute(self.optimizer, variable)
        optimizer = self.optimizer
        index = optimizer._index_dict[optimizer._var_key(variable)] if self.tf_keras else optimizer._get_variable_index(variable)
        return getattr(optimizer, attribute)[index]

    def state(self):
        """([W per variable], {symbol: [slot per variable]}), as NumPy arrays."""
        weights = [np.array(v.numpy()) for v in self.variables]
        slots = {s: [np.array(keras.ops.convert_to_numpy(self._slot(v, s))) for v in self.variables] for s in self.slots}
        return weights, slots


class TorchDriver:
    """Runs a torch optimizer on CPU tensors; slots from its state dict."""

    def __init__(self, make, slots):
        self.make, self.slots = make, slots

    def start(self, weights, dtype):
        import torch

        self.torch = torch
        self.params = [torch.tensor(w.astype(dtype)) for w in weights]
        self.optimizer = self.make(self.params)

    def apply(self, grads):
        for p, g in zip(self.params, grads):
            p.grad = self.torch.tensor(g.astype(p.numpy().dtype))
        self.optimizer.step()

    def state(self):
        state = self.optimizer.state
        slots = {symbol: [state[p][key].numpy().copy() for p in self.params] for symbol, key in self.slots.items()}
        return [p.detach().numpy().copy() for p in self.params], slots


class OptaxDriver:
    """Runs an optax transformation on JAX arrays (64-bit floats on, for
    the duration of each call); `slots` maps course symbols to functions of
    (optax state, variable index) -> array."""

    def __init__(self, transformation, slots):
        self.transformation, self.slots = transformation, slots

    def _x64(self):
        return compat.jax_x64()

    def start(self, weights, dtype):
        import jax.numpy as jnp
        import optax

        self.jnp, self.optax = jnp, optax
        with self._x64():
            self.params = [jnp.asarray(w.astype(dtype)) for w in weights]
            self.optax_state = self.transformation.init(self.params)

    def apply(self, grads):
        with self._x64():
            grads = [self.jnp.asarray(g.astype(p.dtype)) for g, p in zip(grads, self.params)]
            updates, self.optax_state = self.transformation.update(grads, self.optax_state, self.params)
            self.params = self.optax.apply_updates(self.params, updates)

    def state(self):
        with self._x64():
            slots = {
                symbol: [np.asarray(read(self.optax_state, i)) for i in range(len(self.params))]
                for symbol, read in self.slots.items()
            }
            return [np.asarray(p) for p in self.params], slots


def run_steps(driver, grads):
    """`driver.run(grads)`, or for a driver without `run` (`start`, `apply`
    and `state` are all a driver needs), `step_by_step`."""
    return driver.run(grads) if hasattr(driver, "run") else step_by_step(driver, grads)


def step_by_step(driver, grads):
    """`driver.state()` after each `driver.apply(step_grads)`."""
    states = []
    for step_grads in grads:
        driver.apply(step_grads)
        states.append(driver.state())
    return states
