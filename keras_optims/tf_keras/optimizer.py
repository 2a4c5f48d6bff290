"""The tf_keras (Keras 2) adapter: the same rules, checks and slots as the
Keras 3 classes, on `tf_keras.optimizers.Optimizer`.

Differences from the Keras 3 adapter, all tf_keras's own conventions:
- tf_keras updates one variable at a time (`update_step`), so the fused CPU
  kernel runs one op per variable; where it is not used, `jit_compile=True`
  (the default) means the package's XLA update, also on CPU (tf_keras turns
  its own XLA wrapper off when no GPU is present; it is bypassed);
- Keras 3 arguments that tf_keras does not have (`loss_scale_factor`,
  `gradient_accumulation_steps`) are rejected by tf_keras;
- slots are created with tf_keras's `add_variable_from_reference` and named
  `v/<variable>`, `s/<variable>`, the way tf_keras names its own `m`, `v`.
A float learning rate is kept in a float64 variable, as in the Keras 3 adapter.
"""

import tensorflow as tf
import tf_keras

from keras_optims import checks
from keras_optims.algorithm import Algorithm
from keras_optims.backends.tf_update import Slot, StepEngine

Schedule = tf_keras.optimizers.schedules.LearningRateSchedule


class TFKerasOptimizer(Algorithm, tf_keras.optimizers.Optimizer):
    """Base class of the course optimizers for tf_keras."""

    def __init__(self, learning_rate, hyperparameters, jit_compile=True, fused=None, name=None, **kwargs):
        learning_rate = checks.check_learning_rate(learning_rate)
        jit_compile = checks.check_boolean("jit_compile", jit_compile)
        fused = checks.check_optional_boolean("fused", fused)
        if callable(learning_rate) and not isinstance(learning_rate, Schedule):
            raise TypeError(
                "Argument `learning_rate` of a tf_keras optimizer must be a number or a "
                "tf_keras LearningRateSchedule (for example from keras_optims.tf_keras). "
                f"Received: learning_rate={learning_rate!r}"
            )
        super().__init__(name=name or type(self).__name__, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.jit_compile = jit_compile  # tf_keras sets False without a GPU
        self._fix_hyperparameters(hyperparameters, fused)
        self._updater = StepEngine(self.bound_rule(), jit_compile=jit_compile, fused=fused)

    def _update_step_xla(self, gradient, variable, key):
        # tf_keras's per-variable XLA wrapper; the package's own XLA update
        # (`StepEngine`) replaces it.
        return self._update_step(gradient, variable)

    def _build_learning_rate(self, learning_rate):
        if isinstance(learning_rate, Schedule):
            return super()._build_learning_rate(learning_rate)
        with tf.init_scope():
            return tf.Variable(learning_rate, name="learning_rate", dtype=tf.float64, trainable=False)

    def build(self, var_list):
        super().build(var_list)
        if getattr(self, "_built", False):
            return
        self._built = True
        self._updater.choose_path(var_list)
        for name in self.slot_names:
            setattr(self, f"_{name}", [self.add_variable_from_reference(var, name) for var in var_list])

    @property
    def update_path(self):
        """How the step updates the variables, chosen when the optimizer is
        built: "fused" (the fused CPU kernel) or "tensorflow" (TensorFlow
        ops, XLA-compiled with ``jit_compile=True``); None before."""
        return self._updater.path

    def _slot_value(self, variable, name):
        return getattr(self, f"_{name}")[self._index_dict[self._var_key(variable)]]

    def update_step(self, gradient, variable):
        slots = tuple(Slot(self.get_slot(variable, name), 0) for name in self.slot_names)
        self._updater(variable, gradient, slots, self.learning_rate, self.iterations + 1)

    def get_config(self):
        config = super().get_config()
        learning_rate = self._serialize_hyperparameter(self._learning_rate)
        config.update(
            {
                "learning_rate": learning_rate if isinstance(learning_rate, dict) else float(learning_rate),
                **self._hyperparameters,
                "fused": self.fused,
            }
        )
        return config


class TensorFlowOps:
    """The `keras.ops` functions the epoch schedules use, as TensorFlow ops:
    what the tf_keras schedules compute with, whatever Keras 3's backend."""

    floor_divide = staticmethod(tf.math.floordiv)
    cast = staticmethod(tf.cast)
    convert_to_tensor = staticmethod(tf.convert_to_tensor)
    power = staticmethod(tf.pow)
    sqrt = staticmethod(tf.sqrt)
    sum = staticmethod(tf.reduce_sum)
    take = staticmethod(tf.gather)
    maximum = staticmethod(tf.maximum)
    clip = staticmethod(tf.clip_by_value)
