"""What a range test reads and writes between two training steps, cheaply
on each backend: it runs once per step, beside steps of a fraction of a
millisecond (benchmarks/range_test.py).

- `LossSums(model)()`: the loss tracker's running (total, count). Under
  JAX, `fit` keeps the training state outside the variables during an
  epoch; reading `callback.model` would copy all of it back into them at
  every step, so the two values are read from that state directly.
- `LearningRateSetter(variable, rates)`: sets α before each step.
  TensorFlow: one resource assignment of a tensor made once per α (Keras's
  `assign` converts and checks its argument each time, ~8× slower);
  PyTorch: Keras's `assign`. Under JAX a value assigned between steps is not
  seen by the next step without that whole copy, so `supported()` is False
  there and the range test swaps in its schedule instead.
"""

import keras
import numpy as np

from keras_optims.tuning import flavour


class LossSums:
    """Reads Keras's loss tracker's (total, count) as floats."""

    def __init__(self, model):
        self.model = model
        tracker = flavour.loss_tracker(model)
        self.variables = (tracker.total, tracker.count) if tracker is not None else None
        self._jax_index = None
        if self.variables is not None and keras.backend.backend() == "jax":
            positions = {id(v): i for i, v in enumerate(flavour.metric_variables(model))}
            if all(id(v) in positions for v in self.variables):
                self._jax_index = [positions[id(v)] for v in self.variables]

    def __call__(self):
        """(total, count), or None where the model has no loss tracker."""
        if self.variables is None:
            return None
        state = getattr(self.model, "_jax_state", None)
        if self._jax_index is not None and state and not self.model._jax_state_synced:
            metrics = state["metrics_variables"]
            return tuple(float(np.asarray(metrics[i])) for i in self._jax_index)
        return tuple(float(v.numpy()) for v in self.variables)


class LearningRateSetter:
    """Sets a learning-rate variable to rates[k] before step k."""

    def __init__(self, variable, rates):
        self.variable = variable
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            resource = variable.value if isinstance(variable, keras.Variable) else variable  # tf_keras: a tf.Variable
            handle = resource.handle
            values = [tf.constant(rate, dtype=resource.dtype) for rate in rates]
            self._set = lambda k: tf.raw_ops.AssignVariableOp(resource=handle, value=values[k])
        else:
            self._set = lambda k: variable.assign(rates[k])

    @staticmethod
    def supported(model):
        """Whether a value set between steps reaches the next step."""
        return keras.backend.backend() != "jax" and getattr(model, "steps_per_execution", 1) == 1

    def __call__(self, k):
        self._set(k)
