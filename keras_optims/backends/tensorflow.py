"""The Keras 3 backend on TensorFlow: where the slots live (`Updater`).

How a step runs (the fused CPU kernel, XLA or TensorFlow ops, the float64
scalars, sparse gradients) is `backends.tf_update`'s, shared with tf_keras;
this module lays out the slots of the Keras 3 optimizers, which
`StepEngine` reads and writes through `Slot`s.
"""

import tensorflow as tf

from keras_optims import backends
from keras_optims.backends.tf_update import Slot, StepEngine
from keras_optims.saved_state import LARGE, flat_layout, size_of


def tf_variable(variable):
    """The `tf.Variable` behind a Keras 3 variable (a tf.Variable as it is)."""
    import keras

    return variable.value if isinstance(variable, keras.Variable) else variable


class Updater(StepEngine, backends.Updater):
    """The Keras 3 optimizers' updater on TensorFlow (`backends.Updater`'s
    contract): a `StepEngine`, which runs the steps and checks `fused`
    for both flavours, that also lays out the slots.

    The slots of every variable the fused kernel will update, and of every
    other variable under `LARGE` elements, share one flat buffer per slot
    and dtype (optimizer variables ``v``, ``s``; ``v_float32``, … when the
    model mixes dtypes), each variable's part at a fixed offset, one
    variable after the other in the order of ``optimizer.build``: a step then
    passes two buffers instead of two variables per model variable into the
    ``tf.function`` (each captured variable costs every call a few µs), and
    one fused op per dtype updates them all. A larger variable that XLA
    will update keeps slot variables of its own (``dense_kernel_v``), which
    XLA updates in place (it would copy a large flat buffer).

    What is saved does not depend on this layout: `slot_arrays` gives one
    slot per model variable, as `backends.PerVariableUpdater` lays them out
    (`keras_optims.saved_state`).
    """

    def build(self, optimizer, variables):
        # A variable that the fused kernel will update keeps its slots in the
        # flat buffers whatever its size, so that one op updates every
        # variable of a dtype; a large one that XLA or TensorFlow ops will
        # update has slots of its own.
        self.choose_path([tf_variable(v) for v in variables])
        fused = [self._fused_at_build(variable) for variable in map(tf_variable, variables)]
        self._places, totals = flat_layout(
            variables, own=lambda index, variable: size_of(variable) >= LARGE and not fused[index]
        )
        self._buffers = {}
        for name in self.slot_names:
            buffers = {}
            for dtype, total in totals.items():
                buffers[dtype] = optimizer.add_variable(
                    shape=(total,), initializer="zeros", dtype=dtype,
                    name=name if len(totals) == 1 else f"{name}_{dtype}",
                )
            for index, variable in enumerate(variables):
                if self._places[index] is None:
                    buffers[index] = optimizer.add_variable_from_reference(variable, name)
            self._buffers[name] = buffers

    def _fused_at_build(self, variable):
        """Whether the fused kernel is expected to update `variable` (it is
        checked again at every step)."""
        return self.path == "fused" and self.kernel_refusal(variable) is None

    def slots_at(self, index):
        """The `Slot`s of the model variable at `index`, in `slot_names` order."""
        place = self._places[index]
        if place is None:
            return tuple(Slot(tf_variable(self._buffers[name][index]), 0) for name in self.slot_names)
        dtype, offset = place
        return tuple(Slot(tf_variable(self._buffers[name][dtype]), offset) for name in self.slot_names)

    def slot_value(self, optimizer, variable, name):
        index = optimizer._get_variable_index(variable)
        return self.slots_at(index)[self.slot_names.index(name)].read(tf_variable(variable))

    def apply(self, optimizer, gradients, variables, learning_rate):
        variables = [tf_variable(v) for v in variables]
        slots = [self.slots_at(optimizer._get_variable_index(v)) for v in variables]
        self.update_all(variables, gradients, slots, learning_rate, optimizer.iterations + 1)

    def per_replica(self):
        """Whether Keras's own per-replica update must run (under a
        `tf.distribute` strategy: one `update_step` per variable)."""
        return tf.distribute.has_strategy()

    def slot_arrays(self, optimizer):
        """Every slot as a NumPy array in the model variable's shape: ``v``,
        ``s`` of the first model variable, then of the second, …"""
        arrays = []
        for index, variable in enumerate(optimizer._trainable_variables):
            arrays += [slot.read(tf_variable(variable)).numpy() for slot in self.slots_at(index)]
        return arrays

    def assign_slots(self, optimizer, arrays):
        """Writes `arrays` (as `slot_arrays` gives them) into the slots."""
        remaining = iter(arrays)
        for index, variable in enumerate(optimizer._trainable_variables):
            variable = tf_variable(variable)
            for slot in self.slots_at(index):
                slot.assign(variable, tf.constant(next(remaining), dtype=variable.dtype))
