"""The Keras 3 adapter: what every course optimizer shares.

An optimizer class in this package is thin: it validates its hyperparameters,
names its slots and points at its rule in `rules.py`. This base class turns
that into a real `keras.optimizers.Optimizer`:

- slots are named after the course symbols; those of variables under
  `LARGE` elements share one flat buffer per slot and dtype (optimizer
  variables ``v``, ``s``; ``v_float32``, … when the model mixes dtypes), each
  model variable's part at a fixed offset, and a larger variable has slot
  variables of its own (``dense_kernel_v``); `get_slot(variable, "v")`
  returns a variable's slot in its shape;
- each step hands every (gradient, variable) pair to
  `tensorflow_backend.VariableUpdate`, which runs the rule in the fused CPU
  kernel (one op for all variables) or XLA-compiled;
- the learning rate, when given as a number, is kept in a float64 variable so
  that a float64 model sees exactly the α it was given (Keras keeps it in
  ``floatx()``, float32 by default, and 0.01 would become 0.0099999998);
- hyperparameters are fixed once the optimizer exists (a compiled update has
  them baked in); assigning one raises. The learning rate stays settable, as
  in Keras (callbacks such as `ReduceLROnPlateau` rely on it);
- `get_config` lists every argument, so `from_config` and `.keras` files
  rebuild the same optimizer.
"""

import keras
import tensorflow as tf

from keras_optims import hyperparameters as checks
from keras_optims.course_optimizer import CourseOptimizerMixin
from keras_optims.tensorflow_backend import Slot, size_of

KERAS_ARGUMENTS_DOC = """fused: None, True or False, default `None`. How the update runs on
            CPU: `None` updates every float32/float64 CPU variable in one
            fused native op per step (built on first use with the system C++
            compiler, cached) and runs the rest as `jit_compile` says; `True`
            requires the fused op (raises where it cannot be used); `False`
            never uses it. The result is the same rule either way.
        jit_compile: bool, default `True`. Run what the fused op does not
            take XLA-compiled (also on CPU), in one computation for all
            of them. `False` runs the same rule as
            ordinary TensorFlow ops. XLA is also skipped under a
            `tf.distribute` strategy.
        **kwargs: Keras's own optimizer arguments (`name`, `weight_decay`,
            `clipnorm`, `clipvalue`, `global_clipnorm`, `use_ema`,
            `ema_momentum`, `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`), with the meaning they have for
            `keras.optimizers.Adam` and the other built-ins. They act on the
            gradient before the rule (clipping, loss scaling, accumulation) or
            on the weights around it (weight decay, EMA)."""


LARGE = 2**18  # elements: a variable this large keeps slot variables of its own


def _tf_variable(variable):
    """The `tf.Variable` behind a Keras 3 variable (a tf.Variable as it is)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def document(cls):
    """Splices the shared argument documentation into a class docstring."""
    cls.__doc__ = cls.__doc__.replace("{{keras_arguments}}", KERAS_ARGUMENTS_DOC)
    return cls


class CourseOptimizer(CourseOptimizerMixin, keras.optimizers.Optimizer):
    """Base class of the course optimizers for Keras 3 (TensorFlow backend).

    Subclasses set `slot_names` (course symbols, in the order the rule takes
    them) and `rule` (a function of `rules.py`), and pass their validated
    hyperparameters as a dict to `__init__`.
    """

    def __init__(self, learning_rate, hyperparameters, jit_compile=True, fused=None, **kwargs):
        learning_rate = checks.check_learning_rate(learning_rate)
        jit_compile = checks.check_boolean("jit_compile", jit_compile)
        fused = checks.check_optional_boolean("fused", fused)
        number = not callable(learning_rate)
        # A number goes in as a placeholder callable, so that Keras does not
        # create its float32 variable (replacing a tracked variable afterwards
        # would make the optimizer unsaveable by tf.train.Checkpoint).
        super().__init__(learning_rate=(lambda: learning_rate) if number else learning_rate, **kwargs)
        if number:
            self._use_float64_learning_rate(learning_rate)
        self.jit_compile = jit_compile
        self._set_hyperparameters(hyperparameters, jit_compile, fused)

    def _use_float64_learning_rate(self, learning_rate):
        with keras.name_scope(self.name, caller=self):
            variable = keras.Variable(
                learning_rate,
                name="learning_rate",
                dtype="float64",
                trainable=False,
                aggregation="only_first_replica",
            )
        self._track_variable(variable)
        self._learning_rate = variable

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # Variables under LARGE elements keep each slot in one flat buffer
        # per slot and dtype, variable after variable: a step then passes
        # two buffers instead of two variables per small model variable
        # (each captured variable costs every tf.function call a few µs).
        # Larger variables keep a slot variable of their own, which XLA
        # updates in place (it would copy a large flat buffer).
        self._slot_offsets, totals = [], {}
        for variable in var_list:
            if size_of(variable) >= LARGE:
                self._slot_offsets.append(None)
                continue
            dtype = keras.backend.standardize_dtype(variable.dtype)
            self._slot_offsets.append((dtype, totals.get(dtype, 0)))
            totals[dtype] = totals.get(dtype, 0) + size_of(variable)
        for name in self.slot_names:
            buffers = {}
            for dtype, total in totals.items():
                buffers[dtype] = self.add_variable(
                    shape=(total,),
                    initializer="zeros",
                    dtype=dtype,
                    name=name if len(totals) == 1 else f"{name}_{dtype}",
                )
            for index, variable in enumerate(var_list):
                if self._slot_offsets[index] is None:
                    buffers[index] = self.add_variable_from_reference(variable, name)
            setattr(self, f"_{name}", buffers)

    def _slots_of(self, variable):
        index = self._get_variable_index(variable)
        place = self._slot_offsets[index]
        if place is None:
            return tuple(Slot(_tf_variable(getattr(self, f"_{name}")[index]), 0) for name in self.slot_names)
        dtype, offset = place
        return tuple(Slot(_tf_variable(getattr(self, f"_{name}")[dtype]), offset) for name in self.slot_names)

    def _slot_value(self, variable, name):
        slot = self._slots_of(variable)[self.slot_names.index(name)]
        return slot.read(_tf_variable(variable))

    def update_step(self, gradient, variable, learning_rate):
        variable = _tf_variable(variable)
        self._variable_update(variable, gradient, self._slots_of(variable), learning_rate, self.iterations + 1)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # Keras calls this once per step with every (gradient, variable) pair,
        # after clipping and weight decay. Under a distribution strategy
        # Keras's own per-replica update runs (one `update_step` per
        # variable); otherwise every variable goes to the backend at once, so
        # that the fused kernel updates them all in one op.
        if tf.distribute.has_strategy():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        variables = [_tf_variable(v) for v in trainable_variables]
        self._variable_update.update_all(
            variables, grads, [self._slots_of(v) for v in variables], learning_rate, self.iterations + 1
        )

    def get_config(self):
        config = super().get_config()
        config.update(self._hyperparameters)
        config["jit_compile"] = self.jit_compile
        config["fused"] = self.fused
        return config
