"""The one registry of what the verification suite (and the test suite) checks.

`CASES`: every optimizer configuration under test, each switch covered.
`REFERENCES`: for each optimizer class, its independent twin in `reference/`
and how the class's config maps onto the course's arguments.
`keras_builtin_reference`: the same for Keras's SGD, RMSprop and Adam, in the
forms Keras documents.
`SCHEDULES`: the same for the epoch schedules.
"""

from dataclasses import dataclass, field

import numpy as np

import keras

import keras_optims
from keras_optims import schedules
from keras_optims.verification import reference


@dataclass(frozen=True)
class Case:
    """A configured optimizer: `Case.make(**overrides)` builds a fresh one;
    `gradients` the variables and gradient size it is checked with (the
    keyword arguments of `verify`; empty: its defaults)."""

    id: str
    cls: type
    kwargs: dict
    gradients: dict = field(default_factory=dict)

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


# The hyperparameter space: cases drawn from a fixed seed, so that every
# hyperparameter is checked away from its default (a rule that ignores ε or
# hard-codes β = 0.9 passes at the defaults). Each draw runs on the default
# (8, 5) and (5,) variables plus a scalar and an empty one, with gradients
# up to GRADIENT_SCALES: at 1e-4 most elements are below ε, at 1e3 ε hardly
# matters.
SPACE_SEED = 20241
SPACE_SHAPES = ((8, 5), (5,), (), (0,))
GRADIENT_SCALES = (1e-4, 1.0, 1e3)
SPACE_DRAWS = {"GradientDescent": 3, "Momentum": 6, "RMSProp": 7, "Adam": 8}


def _decay(rng, k):
    """β, β₁ or β₂ for draw k: 0 for the first, then by turns 1 − 10⁻ᵘ (u
    uniform in 1…4: 0.9 … 0.9999) and uniform in (0, 1)."""
    kind = k % 3
    if kind == 0:
        return float(rng.uniform(0.0, 1.0)) if k else 0.0
    if kind == 1:
        return float(1.0 - 10.0 ** -rng.uniform(1.0, 4.0))
    return float(rng.uniform(0.0, 1.0))


def _learning_rate(rng, k):
    """α in 1e-4 … 1e-1; every third draw, an epoch schedule starting there."""
    alpha = float(10.0 ** rng.uniform(-4.0, -1.0))
    if k % 3 != 2:
        return alpha, f"α={alpha:.3g}"
    steps_per_epoch = int(rng.integers(1, 8))
    if k % 2:
        rate = float(rng.uniform(0.5, 1.0))
        return (schedules.ExponentialEpochDecay(alpha, rate, steps_per_epoch),
                f"α={alpha:.3g}·{rate:.3g}^epoch ({_every(steps_per_epoch)})")
    decay_rate = float(rng.uniform(0.0, 2.0))
    return (schedules.InverseTimeEpochDecay(alpha, decay_rate, steps_per_epoch),
            f"α={alpha:.3g}/(1 + {decay_rate:.3g}·epoch) ({_every(steps_per_epoch)})")


def _every(steps_per_epoch):
    return "epochs of 1 step" if steps_per_epoch == 1 else f"epochs of {steps_per_epoch} steps"


def _shown(key, value):
    if key == "epsilon_mode":
        return f"{value} ε"
    if key == "bias_correction":
        return "bias-corrected" if value else "uncorrected"
    symbol = {"beta": "β", "beta_1": "β₁", "beta_2": "β₂", "epsilon": "ε"}[key]
    return f"{symbol}={value:.6g}" if key != "epsilon" else f"{symbol}={value:.3g}"


def _epsilon(rng, k, count):
    """ε and its mode for draw k of `count`: the ends of the range (1e-12,
    1e-1) first and last, log-uniform between; the two modes by turns."""
    epsilon = float(10.0 ** rng.uniform(-12.0, -1.0))
    epsilon = {0: 1e-12, count - 1: 1e-1}.get(k, epsilon)
    return {"epsilon": epsilon, "epsilon_mode": ("course", "keras")[k % 2]}


# Per optimizer: its arguments besides α for draw k of `count`.
DRAWN = {
    "GradientDescent": lambda rng, k, count: {},
    "Momentum": lambda rng, k, count: {"beta": _decay(rng, k), "bias_correction": bool(k % 2)},
    "RMSProp": lambda rng, k, count: {"beta": _decay(rng, k), **_epsilon(rng, k, count)},
    "Adam": lambda rng, k, count: {"beta_1": _decay(rng, k), "beta_2": _decay(rng, k + 1), **_epsilon(rng, k, count)},
}


def hyperparameter_space(seed=SPACE_SEED):
    """The drawn cases: per class, `SPACE_DRAWS` configurations (both ε
    modes, bias correction on and off, β from 0 to 1 − 1e-4, ε from 1e-12 to
    1e-1, α from 1e-4 to 1e-1 or a schedule), each with a gradient scale."""
    rng = np.random.default_rng(seed)
    cases = []
    for name, count in SPACE_DRAWS.items():
        cls = getattr(keras_optims, name)
        for k in range(count):
            learning_rate, label = _learning_rate(rng, k)
            kwargs = {"learning_rate": learning_rate, **DRAWN[name](rng, k, count)}
            scale = GRADIENT_SCALES[k % len(GRADIENT_SCALES)]
            shown = [label] + [_shown(key, value) for key, value in kwargs.items() if key != "learning_rate"]
            cases.append(Case(f"{name.lower()} {k}: {', '.join(shown)}, |dW| ≤ {scale:g}", cls, kwargs,
                              {"shapes": SPACE_SHAPES, "gradient_scale": scale}))
    return cases


SPACE_CASES = hyperparameter_space()


@dataclass(frozen=True)
class Reference:
    """The reference step of an optimizer class and its argument mapping."""

    step: object  # reference.adam_step, …
    slots: object  # names in the order the step takes them: course symbols (get_slot) or {name: attribute}
    arguments: object  # config -> keyword arguments of `step` (without lr)
    formula: str = ""  # what is checked, for the report
    algorithm: str = ""  # its algorithm among `reference.forms.FORMS`, for `identify` when a check fails


REFERENCES = {
    keras_optims.GradientDescent: Reference(reference.gd_step, (), lambda c: {}, "the course's gradient descent",
                                                "gradient_descent"),
    keras_optims.Momentum: Reference(
        reference.momentum_step,
        ("v",),
        lambda c: {"beta": c["beta"], "bias_correction": c["bias_correction"]},
        "the course's momentum",
        "momentum",
    ),
    keras_optims.RMSProp: Reference(
        reference.rmsprop_step,
        ("s",),
        lambda c: {"beta": c["beta"], "eps": c["epsilon"], "epsilon_mode": c["epsilon_mode"]},
        "the course's RMSProp",
        "rmsprop",
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
        "adam",
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
        return Reference(reference.gd_step, {}, lambda c: {}, "Keras SGD: W ← W − α·dW", "gradient_descent")
    if cls is keras.optimizers.SGD:
        update = "W ← W + μ·m − α·dW" if config["nesterov"] else "W ← W + m"
        return Reference(
            reference.keras_sgd_step, {"m": "momentums"},
            lambda c: {"momentum": c["momentum"], "nesterov": c["nesterov"]},
            f"Keras SGD{'(nesterov=True)' if config['nesterov'] else ''}: m ← μ·m − α·dW; {update} "
            "(α inside the momentum buffer)",
            "momentum",
        )
    if cls is keras.optimizers.RMSprop:
        return Reference(
            reference.rmsprop_step, {"velocity": "_velocities"},
            lambda c: {"beta": c["rho"], "eps": c["epsilon"], "epsilon_mode": "keras"},
            "Keras RMSprop: s ← ρ·s + (1 − ρ)·dW²; W ← W − α·dW / √(s + ε) (ε inside the root)",
            "rmsprop",
        )
    return Reference(
        reference.adam_step, {"m": "_momentums", "v": "_velocities"},
        lambda c: {"beta1": c["beta_1"], "beta2": c["beta_2"], "eps": c["epsilon"], "epsilon_mode": "keras"},
        "Keras Adam: α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ); W ← W − α_t·m / (√v + ε̂) (epsilon hat)",
        "adam",
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
    from the optimizer's `learning_rate` (a float or one of our schedules; a
    Keras optimizer: what it holds, its learning-rate variable read as a
    float)."""
    if isinstance(learning_rate, keras.optimizers.Optimizer):
        learning_rate = learning_rate._learning_rate
        if isinstance(learning_rate, keras.Variable):
            learning_rate = float(learning_rate.numpy())
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
