"""The one registry of optimizers under test. Table-driven tests iterate over it.

Each class lists its hyperparameters by kind, so the bad-argument table and
the config checks are generated from here. `CASES`, the configured instances
covering every switch (bias correction, both ε modes), come from the
verification package's registry, which the verification suite runs too."""

from dataclasses import dataclass, field

import keras_optims
from keras_optims.verification import registry


@dataclass(frozen=True)
class Spec:
    cls: type
    slots: tuple
    decays: tuple = ()  # β-like: 0 ≤ β < 1
    positives: tuple = ("learning_rate",)  # finite and > 0
    booleans: tuple = ("jit_compile",)
    optional_booleans: tuple = ("fused",)  # None, True or False
    choices: dict = field(default_factory=dict)  # name -> allowed strings

    @property
    def hyperparameters(self):
        return self.decays + self.positives + self.booleans + self.optional_booleans + tuple(self.choices)


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

# The configured cases are the verification suite's: one registry for both.
CASES = registry.CASES
CASE_IDS = [case.id for case in CASES]


def make(case, **overrides):
    return case.make(**overrides)


def spec(case):
    return SPECS[case.cls.__name__]
