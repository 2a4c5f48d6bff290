"""What the optimizer classes of both Keras flavours share, whatever the flavour.

`CourseOptimizerMixin` sits before the flavour's base class (Keras 3's
`keras.optimizers.Optimizer` or tf_keras's) in each adapter:

- it stores the validated hyperparameters as attributes and keeps them fixed
  (a compiled update has them baked in; assigning one raises);
- it builds the `VariableUpdate` that applies the class's rule;
- `get_slot(variable, name)` finds a slot by course symbol.
"""

import functools

from keras_optims.tensorflow_backend import VariableUpdate


class CourseOptimizerMixin:
    slot_names = ()
    rule = None

    def _set_hyperparameters(self, hyperparameters, jit_compile, fused):
        self._hyperparameters = dict(hyperparameters)
        for name, value in self._hyperparameters.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "fused", fused)
        self._variable_update = VariableUpdate(
            functools.partial(type(self).rule, **self._hyperparameters), jit_compile=jit_compile, fused=fused
        )

    def __setattr__(self, name, value):
        if name in getattr(self, "_hyperparameters", ()) or (
            name in ("jit_compile", "fused") and hasattr(self, "_variable_update")
        ):
            raise AttributeError(
                f"`{name}` of {type(self).__name__} is fixed when the optimizer "
                f"is created; make a new optimizer with {name}={value!r} instead."
            )
        super().__setattr__(name, value)

    def _slot_value(self, variable, name):
        raise NotImplementedError

    def get_slot(self, variable, name):
        """The slot `name` (one of `slot_names`) that belongs to `variable`:
        its value, in the variable's shape (tf_keras: the slot variable)."""
        if name not in self.slot_names:
            allowed = ", ".join(repr(n) for n in self.slot_names) or "none"
            raise ValueError(
                f"{type(self).__name__} has no slot {name!r}; its slots: {allowed}."
            )
        return self._slot_value(variable, name)
