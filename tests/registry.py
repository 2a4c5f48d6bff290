"""The one registry of optimizers under test. Table-driven tests iterate over it.

Each class lists its hyperparameters by kind, so the bad-argument table and
the config checks are generated from here; `CASES` are configured instances
covering every switch (bias correction, both ε modes)."""

from dataclasses import dataclass, field

import keras_optims


@dataclass(frozen=True)
class Spec:
    cls: type
    slots: tuple
    decays: tuple = ()  # β-like: 0 ≤ β < 1
    positives: tuple = ("learning_rate",)  # finite and > 0
    booleans: tuple = ("jit_compile",)
    choices: dict = field(default_factory=dict)  # name -> allowed strings

    @property
    def hyperparameters(self):
        return self.decays + self.positives + self.booleans + tuple(self.choices)


EPSILON_MODE = {"epsilon_mode": ("course", "keras")}

SPECS = {
    "GradientDescent": Spec(keras_optims.GradientDescent, ()),
    "Momentum": Spec(
        keras_optims.Momentum,
        ("v",),
        decays=("beta",),
        booleans=("bias_correction", "jit_compile"),
    ),
    "RMSProp": Spec(
        keras_optims.RMSProp,
        ("s",),
        decays=("beta",),
        positives=("learning_rate", "epsilon"),
        choices=EPSILON_MODE,
    ),
    "Adam": Spec(
        keras_optims.Adam,
        ("v", "s"),
        decays=("beta_1", "beta_2"),
        positives=("learning_rate", "epsilon"),
        choices=EPSILON_MODE,
    ),
}

# (case id, class name, constructor arguments)
CASES = [
    ("gd", "GradientDescent", {"learning_rate": 0.05}),
    ("momentum", "Momentum", {"learning_rate": 0.05, "beta": 0.9}),
    ("momentum-bc", "Momentum", {"learning_rate": 0.05, "bias_correction": True}),
    ("rmsprop", "RMSProp", {"learning_rate": 0.01}),
    ("rmsprop-keras-eps", "RMSProp", {"learning_rate": 0.01, "epsilon_mode": "keras"}),
    ("adam", "Adam", {"learning_rate": 0.01}),
    ("adam-keras-eps", "Adam", {"learning_rate": 0.01, "epsilon_mode": "keras"}),
]

CASE_IDS = [case[0] for case in CASES]


def make(case, **overrides):
    _, class_name, kwargs = case
    return SPECS[class_name].cls(**{**kwargs, **overrides})
