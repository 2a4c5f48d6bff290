"""Keras 3 or tf_keras: the few things the tuning tools ask of a model that
the two flavours spell differently. A tf_keras model is recognised by its
class's module; tf_keras is imported only then."""

import keras
import numpy as np

_CALLBACK_TYPES = {}


def is_tf_keras(model):
    return type(model).__module__.startswith("tf_keras")


def is_model(model):
    if isinstance(model, keras.Model):
        return True
    if is_tf_keras(model):
        from keras_optims import compat

        return isinstance(model, compat.import_tf_keras().Model)
    return False


def callback_type(logic, tf_keras=False):
    """`logic` (a class of callback methods) on the callback base class of
    Keras 3, or of tf_keras, made once."""
    if tf_keras:
        from keras_optims import compat

        base = compat.import_tf_keras().callbacks.Callback
    else:
        base = keras.callbacks.Callback
    key = (logic, base)
    if key not in _CALLBACK_TYPES:
        _CALLBACK_TYPES[key] = type(logic.__name__.lstrip("_"), (logic, base),
                                    {"__module__": logic.__module__, "__doc__": logic.__doc__})
    return _CALLBACK_TYPES[key]


def range_test_schedule_type(model):
    """`RangeTestSchedule` of `model`'s flavour."""
    if is_tf_keras(model):
        from keras_optims import tf_keras

        return tf_keras.RangeTestSchedule
    from keras_optims.tuning.range_test import RangeTestSchedule

    return RangeTestSchedule


def trained_model(callback):
    """The callback's model without Keras 3's JAX state copy (`callback.model`
    copies the whole training state into the variables under JAX)."""
    return callback.__dict__.get("_model") or callback.model


def metric_variables(model):
    variables = getattr(model, "metrics_variables", None)
    if variables is not None:
        return list(variables)
    return [v for metric in model.metrics for v in metric.variables]


def optimizer_variables(optimizer):
    variables = optimizer.variables
    return list(variables() if callable(variables) else variables)


def optimizer_built(optimizer):
    return getattr(optimizer, "built", getattr(optimizer, "_built", False))


def is_variable(value):
    """A Keras 3 variable, or (tf_keras) a TensorFlow variable."""
    if isinstance(value, keras.Variable):
        return True
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "assign") and hasattr(value, "handle")


def read(variable):
    """A NumPy copy of the variable's value."""
    return np.array(variable.numpy())
