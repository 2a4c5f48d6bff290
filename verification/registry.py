"""The one registry of what the verification suite (and the test suite) checks.

`CASES`: every optimizer configuration under test, each switch covered.
`REFERENCES`: for each optimizer class, its independent twin in `reference/`
and how the class's config maps onto the course's arguments.
`SCHEDULES`: the same for the epoch schedules.
"""

from dataclasses import dataclass

import keras_optims
from keras_optims import schedules
from keras_optims.verification import reference


@dataclass(frozen=True)
class Case:
    """A configured optimizer: `Case.make(**overrides)` builds a fresh one."""

    id: str
    cls: type
    kwargs: dict

    def make(self, **overrides):
        return self.cls(**{**self.kwargs, **overrides})


CASES = [
    Case("gd", keras_optims.GradientDescent, {"learning_rate": 0.05}),
    Case("momentum", keras_optims.Momentum, {"learning_rate": 0.05, "beta": 0.9}),
    Case("momentum-bias-corrected", keras_optims.Momentum, {"learning_rate": 0.05, "bias_correction": True}),
    Case("rmsprop", keras_optims.RMSProp, {"learning_rate": 0.01}),
    Case("rmsprop-keras-eps", keras_optims.RMSProp, {"learning_rate": 0.01, "epsilon_mode": "keras"}),
    Case("adam", keras_optims.Adam, {"learning_rate": 0.01}),
    Case("adam-keras-eps", keras_optims.Adam, {"learning_rate": 0.01, "epsilon_mode": "keras"}),
]


@dataclass(frozen=True)
class Reference:
    """The reference step of an optimizer class and its argument mapping."""

    step: object  # reference.adam_step, …
    slots: tuple  # course symbols, in the order the step takes them
    arguments: object  # config -> keyword arguments of `step` (without lr)


REFERENCES = {
    keras_optims.GradientDescent: Reference(reference.gd_step, (), lambda c: {}),
    keras_optims.Momentum: Reference(
        reference.momentum_step,
        ("v",),
        lambda c: {"beta": c["beta"], "bias_correction": c["bias_correction"]},
    ),
    keras_optims.RMSProp: Reference(
        reference.rmsprop_step,
        ("s",),
        lambda c: {"beta": c["beta"], "eps": c["epsilon"], "epsilon_mode": c["epsilon_mode"]},
    ),
    keras_optims.Adam: Reference(
        reference.adam_step,
        ("v", "s"),
        lambda c: {
            "beta1": c["beta_1"],
            "beta2": c["beta_2"],
            "eps": c["epsilon"],
            "epsilon_mode": c["epsilon_mode"],
        },
    ),
}


def reference_for(optimizer):
    """The `Reference` of an optimizer instance (subclasses use their parent's)."""
    for cls in type(optimizer).__mro__:
        if cls in REFERENCES:
            return REFERENCES[cls]
    supported = ", ".join(c.__name__ for c in REFERENCES)
    raise TypeError(
        f"No course reference for {type(optimizer).__name__}; verify() checks the "
        f"keras_optims optimizers ({supported}) and their subclasses."
    )


# Epoch schedules: class -> (config -> function of the 0-based epoch).
SCHEDULES = {
    schedules.InverseTimeEpochDecay: lambda c: lambda e: reference.inverse_time_decay(
        c["initial_learning_rate"], c["decay_rate"], e, c["time_interval"]
    ),
    schedules.ExponentialEpochDecay: lambda c: lambda e: reference.exponential_decay(
        c["initial_learning_rate"], c["rate"], e
    ),
    schedules.InverseSqrtEpochDecay: lambda c: lambda e: reference.inverse_sqrt_decay(
        c["initial_learning_rate"], c["k"], e
    ),
    schedules.EpochStaircase: lambda c: lambda e: reference.staircase(c["boundaries"], c["values"], e),
}

SCHEDULE_CASES = {
    "inverse-time": lambda spe: schedules.InverseTimeEpochDecay(0.05, 1.0, spe),
    "inverse-time-interval": lambda spe: schedules.InverseTimeEpochDecay(0.05, 0.5, spe, time_interval=3),
    "exponential": lambda spe: schedules.ExponentialEpochDecay(0.05, 0.95, spe),
    "inverse-sqrt": lambda spe: schedules.InverseSqrtEpochDecay(0.05, 0.8, spe),
    "staircase": lambda spe: schedules.EpochStaircase([2, 5], [0.05, 0.02, 0.005], spe),
}


def learning_rate_reference(learning_rate):
    """A function of the 0-based optimizer step giving the course's α, derived
    from the optimizer's `learning_rate` (a float or one of our schedules)."""
    if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
        return lambda step: float(learning_rate)
    for cls, make in SCHEDULES.items():
        if type(learning_rate) is cls:
            at_epoch = make(learning_rate.get_config())
            spe = learning_rate.steps_per_epoch
            return lambda step: at_epoch(reference.epoch_of(step, spe))
    raise TypeError(
        "verify() derives α from a float learning rate or one of the schedules in "
        f"keras_optims.schedules; it has no reference for {learning_rate!r}."
    )
