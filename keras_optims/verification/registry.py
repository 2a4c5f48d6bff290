"""The one registry of what the verification suite (and the test suite) checks.

`CASES`: every optimizer configuration under test, each switch covered.
`REFERENCES`: for each optimizer class, its independent twin in `reference/`
and how the class's config maps onto the course's arguments.
`keras_builtin_reference`: the same for Keras's SGD, RMSprop and Adam, in the
forms Keras documents.
`SCHEDULES`: the same for the epoch schedules.
"""

from dataclasses import dataclass

import keras

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
    slots: object  # names in the order the step takes them: course symbols (get_slot) or {name: attribute}
    arguments: object  # config -> keyword arguments of `step` (without lr)
    formula: str = ""  # what is checked, for the report


REFERENCES = {
    keras_optims.GradientDescent: Reference(reference.gd_step, (), lambda c: {}, "the course's gradient descent"),
    keras_optims.Momentum: Reference(
        reference.momentum_step,
        ("v",),
        lambda c: {"beta": c["beta"], "bias_correction": c["bias_correction"]},
        "the course's momentum",
    ),
    keras_optims.RMSProp: Reference(
        reference.rmsprop_step,
        ("s",),
        lambda c: {"beta": c["beta"], "eps": c["epsilon"], "epsilon_mode": c["epsilon_mode"]},
        "the course's RMSProp",
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
        "the course's Adam",
    ),
}

KERAS_SUPPORTED = ("keras.optimizers.SGD (with or without momentum and nesterov), "
                   "keras.optimizers.RMSprop (momentum=0, centered=False), keras.optimizers.Adam (amsgrad=False)")
# Keras's arguments that act around the formula; verify() checks the formula alone.
KERAS_AROUND = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                "loss_scale_factor", "gradient_accumulation_steps")


def keras_builtin_reference(optimizer):
    """The `Reference` of one of Keras's SGD, RMSprop or Adam (exactly those
    classes), in the form Keras documents, after checking that its config
    uses only what that form covers; None for any other class."""
    # Exactly Keras's classes, or the subclass Keras itself substitutes on a
    # backend (under PyTorch, keras.optimizers.Adam() is a multi-tensor
    # subclass); a user's subclass may change the math: check() is for it.
    builtins = (keras.optimizers.SGD, keras.optimizers.RMSprop, keras.optimizers.Adam)
    cls = next((c for c in builtins if isinstance(optimizer, c)), None)
    if cls is None or not (type(optimizer) is cls or type(optimizer).__module__.startswith("keras.src.backend.")):
        return None
    config = optimizer.get_config()
    around = {k: config[k] for k in KERAS_AROUND if config.get(k)}
    unsupported = {}
    if cls is keras.optimizers.RMSprop:
        unsupported = {k: config[k] for k in ("momentum", "centered") if config[k]}
    if cls is keras.optimizers.Adam and config["amsgrad"]:
        unsupported = {"amsgrad": True}
    if around or unsupported:
        received = ", ".join(f"{k}={v!r}" for k, v in {**unsupported, **around}.items())
        raise ValueError(
            f"verify() checks {KERAS_SUPPORTED}, with none of {', '.join(KERAS_AROUND)}. "
            f"Received: {received}. Use keras_optims.verification.check with a reference of your own."
        )
    if cls is keras.optimizers.SGD and config["momentum"] == 0:
        return Reference(reference.gd_step, {}, lambda c: {}, "Keras SGD: W ← W − α·dW")
    if cls is keras.optimizers.SGD:
        update = "W ← W + μ·m − α·dW" if config["nesterov"] else "W ← W + m"
        return Reference(
            reference.keras_sgd_step, {"m": "momentums"},
            lambda c: {"momentum": c["momentum"], "nesterov": c["nesterov"]},
            f"Keras SGD{'(nesterov=True)' if config['nesterov'] else ''}: m ← μ·m − α·dW; {update} "
            "(α inside the momentum buffer)",
        )
    if cls is keras.optimizers.RMSprop:
        return Reference(
            reference.rmsprop_step, {"velocity": "_velocities"},
            lambda c: {"beta": c["rho"], "eps": c["epsilon"], "epsilon_mode": "keras"},
            "Keras RMSprop: s ← ρ·s + (1 − ρ)·dW²; W ← W − α·dW / √(s + ε) (ε inside the root)",
        )
    return Reference(
        reference.adam_step, {"m": "_momentums", "v": "_velocities"},
        lambda c: {"beta1": c["beta_1"], "beta2": c["beta_2"], "eps": c["epsilon"], "epsilon_mode": "keras"},
        "Keras Adam: α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ); W ← W − α_t·m / (√v + ε̂) (epsilon hat)",
    )


def reference_for(optimizer):
    """The `Reference` of an optimizer instance: ours (subclasses use their
    parent's) or one of Keras's built-ins (`keras_builtin_reference`)."""
    builtin = keras_builtin_reference(optimizer)
    if builtin is not None:
        return builtin
    for cls in type(optimizer).__mro__:
        if cls in REFERENCES:
            return REFERENCES[cls]
    ours = ", ".join(f"keras_optims.{c.__name__}" for c in REFERENCES)
    raise TypeError(
        f"verify() has no reference for {type(optimizer).__module__}.{type(optimizer).__name__}; it checks "
        f"{ours} (and their subclasses), and {KERAS_SUPPORTED}. For any other optimizer, write its step "
        "in NumPy and use keras_optims.verification.check(optimizer, reference, slots=...)."
    )


# Epoch schedules: class -> (config -> function of the epoch number n).
SCHEDULES = {
    schedules.InverseTimeEpochDecay: lambda c: lambda n: reference.inverse_time_decay(
        c["initial_learning_rate"], c["decay_rate"], n, c["time_interval"]
    ),
    schedules.ExponentialEpochDecay: lambda c: lambda n: reference.exponential_decay(
        c["initial_learning_rate"], c["rate"], n
    ),
    schedules.InverseSqrtEpochDecay: lambda c: lambda n: reference.inverse_sqrt_decay(
        c["initial_learning_rate"], c["k"], n
    ),
    schedules.EpochStaircase: lambda c: lambda n: reference.staircase(c["boundaries"], c["values"], n),
}

SCHEDULE_CASES = {
    "inverse-time": lambda spe: schedules.InverseTimeEpochDecay(0.05, 1.0, spe),
    "inverse-time-interval": lambda spe: schedules.InverseTimeEpochDecay(0.05, 0.5, spe, time_interval=3),
    "exponential": lambda spe: schedules.ExponentialEpochDecay(0.05, 0.95, spe),
    "inverse-sqrt": lambda spe: schedules.InverseSqrtEpochDecay(0.05, 0.8, spe),
    "staircase": lambda spe: schedules.EpochStaircase([2, 5], [0.05, 0.02, 0.005], spe),
    "inverse-time-lecture": lambda spe: schedules.InverseTimeEpochDecay(0.05, 1.0, spe, epoch_numbering="lecture"),
    "inverse-time-assignment": lambda spe: schedules.InverseTimeEpochDecay(
        0.05, 1.0, spe, time_interval=2, epoch_numbering="assignment"
    ),
    "exponential-lecture": lambda spe: schedules.ExponentialEpochDecay(0.05, 0.95, spe, epoch_numbering="lecture"),
    "staircase-assignment": lambda spe: schedules.EpochStaircase(
        [2, 5], [0.05, 0.02, 0.005], spe, epoch_numbering="assignment"
    ),
}


def learning_rate_reference(learning_rate):
    """A function of the 0-based optimizer step giving the course's α, derived
    from the optimizer's `learning_rate` (a float or one of our schedules)."""
    if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
        return lambda step: float(learning_rate)
    for cls, make in SCHEDULES.items():
        if type(learning_rate) is cls:
            config = learning_rate.get_config()
            at_number, spe, numbering = make(config), config["steps_per_epoch"], config["epoch_numbering"]
            return lambda step: at_number(reference.epoch_number(reference.epoch_of(step, spe), numbering))
    raise TypeError(
        "verify() derives α from a float learning rate or one of the schedules in "
        f"keras_optims.schedules; it has no reference for {learning_rate!r}."
    )
