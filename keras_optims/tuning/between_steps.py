"""What a range test writes between two training steps, cheaply on each
backend: it runs once per step, beside steps of a fraction of a millisecond
(benchmarks/range_test.py). (What it reads, the loss tracker's sums, comes
through `keras_optims.callbacks.batch_values.LossSums`, which reads them
from JAX's training state without copying it into the variables.)

- `LearningRateSetter(variable, rates)`: sets α before each step.
  TensorFlow: one resource assignment of a tensor made once per α (Keras's
  `assign` converts and checks its argument each time, ~8× slower);
  PyTorch: Keras's `assign`. Under JAX a value assigned between steps is not
  seen by the next step without that whole copy, so `supported()` is False
  there and the range test swaps in its schedule instead.
"""

import keras


class LearningRateSetter:
    """Sets a learning-rate variable to rates[k] before step k."""

    def __init__(self, variable, rates):
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
