"""Bad arguments fail in __init__ with the argument's name and the value received."""

import math
import re

import numpy as np
import pytest

import keras
import keras_optims
from registry import SPECS

# (value, error, kinds of argument it is bad for)
BAD_VALUES = [
    (-0.1, ValueError, {"decay", "positive"}),
    (0.0, ValueError, {"positive"}),
    (1.0, ValueError, {"decay"}),
    (1.5, ValueError, {"decay"}),
    (math.nan, ValueError, {"decay", "positive"}),
    (math.inf, ValueError, {"decay", "positive"}),
    (-math.inf, ValueError, {"decay", "positive"}),
    (True, TypeError, {"decay", "positive"}),
    (np.bool_(False), TypeError, {"decay", "positive"}),
    ("0.9", TypeError, {"decay", "positive", "boolean", "optional boolean"}),
    (None, TypeError, {"decay", "positive", "boolean", "choice"}),
    ([0.9], TypeError, {"decay", "positive", "boolean", "optional boolean"}),
    (1, TypeError, {"boolean", "optional boolean"}),
    (0, TypeError, {"optional boolean"}),
    ("true", TypeError, {"boolean", "optional boolean"}),
    ("auto", TypeError, {"optional boolean"}),
    ("Course", ValueError, {"choice"}),
    ("epsilon_hat", ValueError, {"choice"}),
    (0.5, TypeError, {"choice"}),
]


def bad_argument_table():
    for class_name, spec in SPECS.items():
        kinds = {name: "decay" for name in spec.decays}
        kinds.update({name: "positive" for name in spec.positives})
        kinds.update({name: "boolean" for name in spec.booleans})
        kinds.update({name: "optional boolean" for name in spec.optional_booleans})
        kinds.update({name: "choice" for name in spec.choices})
        for argument, kind in kinds.items():
            for value, error, bad_for in BAD_VALUES:
                if kind in bad_for:
                    yield pytest.param(
                        class_name, argument, value, error, id=f"{class_name}-{argument}={value!r}"
                    )


@pytest.mark.parametrize("class_name, argument, value, error", list(bad_argument_table()))
def test_bad_argument_is_rejected_with_its_name_and_value(flavour, class_name, argument, value, error):
    """One table, both flavours (the fixture runs it for Keras 3 and tf_keras)."""
    cls = getattr(flavour, class_name)
    with pytest.raises(error) as raised:
        cls(**{argument: value})
    message = str(raised.value)
    assert f"`{argument}`" in message
    assert f"Received: {argument}={value!r}" in message


def test_the_table_covers_every_constructor_argument():
    import inspect

    for spec in SPECS.values():
        parameters = set(inspect.signature(spec.cls.__init__).parameters) - {"self", "kwargs"}
        assert parameters | {"jit_compile", "fused"} == set(spec.hyperparameters)


def test_messages_state_the_allowed_range():
    with pytest.raises(ValueError, match=re.escape("Argument `beta_1` must be in [0, 1). Received: beta_1=1.5")):
        keras_optims.Adam(beta_1=1.5)
    with pytest.raises(ValueError, match=re.escape("`epsilon` must be finite and > 0. Received: epsilon=0.0")):
        keras_optims.RMSProp(epsilon=0.0)
    with pytest.raises(ValueError, match="must be one of 'course', 'keras'. Received: epsilon_mode='hat'"):
        keras_optims.Adam(epsilon_mode="hat")
    with pytest.raises(TypeError, match="must be True or False, not int. Received: bias_correction=1"):
        keras_optims.Momentum(bias_correction=1)
    with pytest.raises(TypeError, match="must be None, True or False, not str. Received: fused='auto'"):
        keras_optims.Adam(fused="auto")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 1},  # an int is a number
        {"learning_rate": np.float32(0.5)},
        {"beta": 0.0},  # β = 0 is allowed: no averaging
        {"beta": np.float64(0.999999)},
        {"bias_correction": np.bool_(True)},
    ],
)
def test_good_values_are_accepted_and_stored_as_python_types(kwargs):
    opt = keras_optims.Momentum(**kwargs)
    for name, value in kwargs.items():
        stored = opt.get_config()[name]
        assert stored == value and type(stored) in (float, bool)


def test_learning_rate_accepts_schedules_and_callables():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert keras_optims.Adam(learning_rate=schedule)._learning_rate is schedule
    assert keras_optims.Adam(learning_rate=lambda: 0.01)._learning_rate() == 0.01


def test_unknown_keras_arguments_are_rejected_by_keras():
    with pytest.raises(ValueError, match="not recognized"):
        keras_optims.Adam(momentum=0.9)


def test_hyperparameters_are_fixed_after_creation(flavour):
    opt = flavour.Adam()
    with pytest.raises(AttributeError, match="`beta_1` of Adam is fixed"):
        opt.beta_1 = 0.5
    assert opt.beta_1 == 0.9
    with pytest.raises(AttributeError, match="`jit_compile` of Adam is fixed"):
        opt.jit_compile = False
    with pytest.raises(AttributeError, match="`fused` of Adam is fixed"):
        opt.fused = False
    opt.learning_rate = 0.5  # the learning rate stays settable, as in Keras
    assert float(opt.learning_rate.numpy()) == 0.5
