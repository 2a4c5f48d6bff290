"""The Keras 3 optimizer base class that every course optimizer shares.

An optimizer class in this package is thin: its `Algorithm` validates its
hyperparameters, names its slots and points at its rule in `rules.py`. This
base class turns that into a real `keras.optimizers.Optimizer`, on every
Keras 3 backend:

- the backend's `Updater` (`keras_optims.backends`) creates the slots when
  the optimizer is built and applies the rule to every (gradient, variable)
  pair of a step, through Keras's `_backend_update_step` hook (the hook
  Keras's own PyTorch optimizers use for their multi-tensor update);
- slots are named after the course symbols; `get_slot(variable, "v")`
  returns a variable's slot, in its shape;
- what is saved is one slot per model variable in Keras's order, as Keras's
  built-ins save theirs, whatever the backend keeps in memory (TensorFlow
  keeps small variables' slots in flat buffers): a `.keras` file saved under
  one backend loads under every other;
- the learning rate, when given as a number, is kept in a float64 variable
  so that a float64 model sees exactly the α it was given (Keras keeps it in
  ``floatx()``, float32 by default, and 0.01 would become 0.0099999998);
  float32 under JAX without ``jax_enable_x64``, where float64 does not exist;
- hyperparameters are fixed once the optimizer exists (a compiled update has
  them baked in); assigning one raises. The learning rate stays settable, as
  in Keras (callbacks such as `ReduceLROnPlateau` rely on it);
- `get_config` lists every argument, so `from_config` and `.keras` files
  rebuild the same optimizer.

A backend that is not supported raises when the optimizer is created.
"""

import warnings

import keras
import numpy as np

from keras_optims import backends, saved_state
from keras_optims import checks
from keras_optims.algorithm import Algorithm

KERAS_ARGUMENTS_DOC = """fused: None, True or False, default `None`. Whether the step may
            run in a fused kernel (one pass over all variables, the same
            course rule). TensorFlow: this package's native CPU op, which
            updates every float32/float64 CPU variable in one call per step
            (built on first use with the system C++ compiler and cached).
            PyTorch: torch's own fused SGD and Adam kernels, for gradient
            descent, momentum, course RMSProp and course Adam. `None` uses
            the fused kernel where one computes the rule and runs the rest
            as below (on TensorFlow, a model of at most 8 variables and
            2,048 elements, such as the course's 2-5-2-1 network, runs as
            TensorFlow ops: the kernel's call costs more than its update;
            `update_path` says which was chosen); `True` requires it and raises where it cannot be had:
            under JAX, which has none; under TensorFlow where the kernel
            cannot be built or a variable cannot use it (a GPU, half
            precision); under PyTorch for a rule no fused kernel computes
            (`epsilon_mode="keras"`). `False` never uses it. The
            verification suite checks every path.
        jit_compile: bool, default `True`. TensorFlow backend only: run what
            the fused op does not take XLA-compiled (also on CPU), in one
            computation for all of them; `False` runs the same rule as
            ordinary TensorFlow ops. XLA is also skipped under a
            `tf.distribute` strategy, inside a model compiled with
            `jit_compile=False` or `run_eagerly=True` (Keras 3 resolves
            "auto" to off on CPU-only TensorFlow), and on a device where
            XLA cannot run. (Under JAX the update is part of Keras's
            XLA-compiled step; under PyTorch what no fused kernel takes runs
            in place as multi-tensor ``torch._foreach_*_`` ops.)
        **kwargs: Keras's own optimizer arguments (`name`, `weight_decay`,
            `clipnorm`, `clipvalue`, `global_clipnorm`, `use_ema`,
            `ema_momentum`, `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`), with the meaning they have for
            `keras.optimizers.Adam` and the other built-ins. They act on the
            gradient before the rule (clipping, loss scaling, accumulation) or
            on the weights around it (weight decay, EMA)."""


LEARNING_RATE_DOC = """learning_rate: α. A finite float > 0, a
            `keras.optimizers.schedules.LearningRateSchedule` (for example one
            of `keras_optims.schedules`), or a callable that takes no
            arguments and returns the value to use."""


def slots_doc(slot_names):
    """The paragraph on an optimizer's slots, for its docstring."""
    shown = " and ".join(f"`{name}`" for name in slot_names)
    one = len(slot_names) == 1
    return (f"Slot{'' if one else 's'}: {shown}, of each model variable's shape and dtype;\n"
            f"    `get_slot(variable, \"{slot_names[0]}\")` returns the variable's slot in its shape (on\n"
            f"    TensorFlow, small variables' slots share one flat buffer per {'dtype' if one else 'slot and dtype'}\n"
            "    in memory; files hold one slot per variable on every backend).")


def document(cls):
    """Splices the shared paragraphs into a class docstring: the Keras
    arguments, `learning_rate` and the slots (from `slot_names`)."""
    doc = cls.__doc__.replace("{{keras_arguments}}", KERAS_ARGUMENTS_DOC)
    doc = doc.replace("{{learning_rate}}", LEARNING_RATE_DOC)
    if "{{slots}}" in doc:
        doc = doc.replace("{{slots}}", slots_doc(cls.slot_names))
    cls.__doc__ = doc
    return cls


class KerasOptimizer(Algorithm, keras.optimizers.Optimizer):
    """Base class of the course optimizers for Keras 3 (every backend).

    Subclasses (through their `Algorithm`) set `slot_names` and `rule`, and
    pass their validated hyperparameters as a dict to `__init__`.
    """

    def __init__(self, learning_rate, hyperparameters, jit_compile=True, fused=None, **kwargs):
        updater = backends.current().Updater  # raises here for an unsupported backend
        learning_rate = checks.check_learning_rate(learning_rate)
        jit_compile = checks.check_boolean("jit_compile", jit_compile)
        fused = checks.check_optional_boolean("fused", fused)
        number = not callable(learning_rate)
        # A number goes in as a placeholder callable, so that Keras does not
        # create its float32 variable (replacing a tracked variable afterwards
        # would make the optimizer unsaveable by tf.train.Checkpoint).
        super().__init__(learning_rate=(lambda: learning_rate) if number else learning_rate, **kwargs)
        if number:
            self._use_exact_learning_rate(learning_rate)
        self.jit_compile = jit_compile
        self._fix_hyperparameters(hyperparameters, fused)
        self._updater = updater(self.bound_rule(), jit_compile=jit_compile, fused=fused)

    def _use_exact_learning_rate(self, learning_rate):
        with keras.name_scope(self.name, caller=self):
            variable = keras.Variable(
                learning_rate,
                name="learning_rate",
                dtype=backends.scalar_dtype(),
                trainable=False,
                aggregation="only_first_replica",
            )
        self._track_variable(variable)
        self._learning_rate = variable

    @property
    def _before_slots(self):
        """How many of `variables` come before the slots."""
        return getattr(self, "_variables_before_slots", len(self.variables))

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._variables_before_slots = len(self.variables)
        self._updater.build(self, var_list)

    def _slot_value(self, variable, name):
        return self._updater.slot_value(self, variable, name)

    @property
    def update_path(self):
        """How each step updates the variables, chosen when the optimizer is
        built (None before): on TensorFlow "fused" (the fused CPU kernel) or
        "tensorflow" (the rule as TensorFlow ops, XLA-compiled where XLA
        runs: under ``fused=None`` for a model so small that the kernel's
        call costs more than its update, see the performance guide); under
        JAX "xla" (inside Keras's compiled step); under PyTorch "fused"
        (torch's fused SGD or Adam kernel) or "in-place" (the rule's
        in-place ``torch._foreach_*_`` form)."""
        return self._updater.path if self.built else None

    def update_step(self, gradient, variable, learning_rate):
        self._updater.apply(self, [gradient], [variable], learning_rate)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # Keras calls this once per step with every (gradient, variable) pair,
        # after clipping and weight decay: the backend's updater takes them
        # all at once. Under a tf.distribute strategy Keras's own per-replica
        # update runs instead (one `update_step` per variable).
        if self._updater.per_replica():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        self._updater.apply(self, grads, trainable_variables, learning_rate)

    def save_own_variables(self, store):
        # See keras_optims.saved_state: what is saved does not depend on the
        # backend's in-memory layout.
        values = [np.asarray(v.numpy()) for v in self.variables[: self._before_slots]]
        if self.built:
            values += self._updater.slot_arrays(self)
        for index, value in enumerate(values):
            store[str(index)] = value

    def load_own_variables(self, store):
        if not self.built:
            return super().load_own_variables(store)  # Keras's warning: nothing to load into
        values = [store[str(i)] for i in range(len(store.keys()))]
        before, saved = self.variables[: self._before_slots], values[self._before_slots :]
        expected = saved_state.shapes(before) + saved_state.slot_shapes(self._trainable_variables, self.slot_names)
        slots = None
        if saved_state.shapes(values[: len(before)]) == saved_state.shapes(before):
            if saved_state.shapes(values) == expected:
                slots = saved
            else:  # a file of keras_optims 0.1.0
                slots = saved_state.slots_from_flat_layout(saved, self._trainable_variables, self.slot_names)
        if slots is not None:
            for variable, value in zip(before, values):
                variable.assign(value)
            self._updater.assign_slots(self, slots)
            return
        # State saved for other variables: what Keras does for its built-ins,
        # counting the variables as saved (one slot per model variable).
        if len(values) != len(expected):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has "
                f"{len(expected)} variables whereas the saved optimizer has {len(values)} variables. ",
                stacklevel=2,
            )
            return
        mismatched = next(i for i, (a, b) in enumerate(zip(saved_state.shapes(values), expected)) if a != b)
        raise ValueError(
            f"Optimizer variable {mismatched} of '{self.name}' has shape {expected[mismatched]}, but the "
            f"saved value has shape {saved_state.shapes(values)[mismatched]}: the state was saved for "
            "other model variables."
        )

    def get_config(self):
        config = super().get_config()
        config.update(self._hyperparameters)
        config["jit_compile"] = self.jit_compile
        config["fused"] = self.fused
        return config
