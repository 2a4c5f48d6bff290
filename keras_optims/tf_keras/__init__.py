"""The course optimizers and epoch schedules for tf_keras (Keras 2).

    import tf_keras
    from keras_optims.tf_keras import Adam, InverseTimeEpochDecay

    model.compile(optimizer=Adam(), loss="mse")

Same rules (written once, in `keras_optims.rules`), arguments, checks, slots
(`v`, `s`) and defaults as the Keras 3 classes of `keras_optims`; subclasses of
`tf_keras.optimizers.Optimizer` and `tf_keras.optimizers.schedules.
LearningRateSchedule`, registered with tf_keras's serialization under the
package name `keras_optims`. Needs ``pip install "keras-optims[tensorflow]"``
(tf-keras and TensorFlow); without them this import says so.
"""

from keras_optims import compat

tf_keras = compat.import_tf_keras()

from keras_optims import adam, gradient_descent, momentum, rmsprop, schedules  # noqa: E402
from keras_optims.tf_keras.optimizer import Schedule, TensorFlowOps, TFKerasOptimizer  # noqa: E402

register = tf_keras.saving.register_keras_serializable(package="keras_optims")


def _tf_keras_class(algorithm, keras3_class):
    cls = type(keras3_class.__name__, (algorithm, TFKerasOptimizer), {"__module__": __name__})
    cls.__doc__ = (keras3_class.__doc__ or "") + "\n    (tf_keras flavour: see keras_optims.tf_keras.optimizer.)\n"
    return register(cls)


GradientDescent = _tf_keras_class(gradient_descent.GradientDescentAlgorithm, gradient_descent.GradientDescent)
Momentum = _tf_keras_class(momentum.MomentumAlgorithm, momentum.Momentum)
RMSProp = _tf_keras_class(rmsprop.RMSPropAlgorithm, rmsprop.RMSProp)
Adam = _tf_keras_class(adam.AdamAlgorithm, adam.Adam)


def _tf_keras_schedule(keras3_schedule):
    cls = type(keras3_schedule.__name__, (keras3_schedule, Schedule), {"__module__": __name__, "ops": TensorFlowOps})
    return register(cls)


InverseTimeEpochDecay = _tf_keras_schedule(schedules.InverseTimeEpochDecay)
ExponentialEpochDecay = _tf_keras_schedule(schedules.ExponentialEpochDecay)
InverseSqrtEpochDecay = _tf_keras_schedule(schedules.InverseSqrtEpochDecay)
EpochStaircase = _tf_keras_schedule(schedules.EpochStaircase)

# The learning-rate range test and the batch-size sweep of `keras_optims.tuning`
# take tf_keras models too (`find_learning_rate`, `sweep_batch_size`); these
# are its callback and schedule in this flavour.
from keras_optims.tuning import flavour as _flavour, range_test as _range_test  # noqa: E402

RangeTestSchedule = _tf_keras_schedule(_range_test.RangeTestSchedule)
LearningRateRangeTest = _flavour.callback_type(_range_test._LearningRateRangeTest, tf_keras=True)

__all__ = [
    "Adam",
    "EpochStaircase",
    "ExponentialEpochDecay",
    "GradientDescent",
    "InverseSqrtEpochDecay",
    "InverseTimeEpochDecay",
    "LearningRateRangeTest",
    "Momentum",
    "RMSProp",
    "RangeTestSchedule",
]
