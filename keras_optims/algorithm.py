"""What every course optimizer is, whatever the Keras flavour or backend.

Each algorithm file (`adam.py`, …) defines one `Algorithm` subclass that
says what the algorithm is: its rule (a `rules.Rule` record, which also
names the slots: course symbols, in the order the rule takes them) and its
arguments with their checks and defaults. The classes users construct combine it with a
flavour's optimizer base class:

    class Adam(AdamAlgorithm, KerasOptimizer)             # keras_optims.Adam
    class Adam(AdamAlgorithm, TFKerasOptimizer)           # keras_optims.tf_keras.Adam

`Algorithm` itself keeps the validated hyperparameters as attributes, fixed
once the optimizer exists (a compiled update has them baked in; assigning
one raises), and finds a slot by course symbol (`get_slot`).
"""

import warnings


class Algorithm:
    rule = None  # a rules.Rule
    slot_names = ()  # the rule's slots (course symbols, in the order it takes them)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "rule" in cls.__dict__:
            cls.slot_names = cls.rule.slots

    def _fix_hyperparameters(self, hyperparameters, fused):
        """Stores the validated hyperparameters (and `fused`) as fixed attributes."""
        self._hyperparameters = dict(hyperparameters)
        for name, value in self._hyperparameters.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "fused", fused)
        object.__setattr__(self, "_fixed", True)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # A config saved with fused=True where the fused kernel ran loads
        # where it cannot (another backend, no C++ compiler): with fused=None,
        # which runs the same rule, and a warning.
        from keras_optims.backends import FusedUnavailable

        if config.get("fused"):
            try:
                return super().from_config(config, custom_objects=custom_objects)
            except FusedUnavailable as error:
                warnings.warn(
                    f"{cls.__name__} was saved with fused=True, which cannot be honoured here "
                    f"({error}); it runs with fused=None.",
                    stacklevel=2,
                )
                config = {**config, "fused": None}
        return super().from_config(config, custom_objects=custom_objects)

    def bound_rule(self):
        """The class's rule with this optimizer's hyperparameters bound (`rules.Bound`)."""
        return type(self).rule.bind(**self._hyperparameters)

    def __setattr__(self, name, value):
        if name in getattr(self, "_hyperparameters", ()) or (
            name in ("jit_compile", "fused") and getattr(self, "_fixed", False)
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
