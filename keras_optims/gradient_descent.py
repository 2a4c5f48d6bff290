"""Mini-batch gradient descent."""

import keras

from keras_optims import rules
from keras_optims.algorithm import Algorithm
from keras_optims.optimizer import KerasOptimizer, document


class GradientDescentAlgorithm(Algorithm):
    """What GradientDescent is, in both Keras flavours: its rule, slots and arguments."""

    rule = rules.GRADIENT_DESCENT

    def __init__(self, learning_rate=0.01, **kwargs):
        super().__init__(learning_rate, hyperparameters={}, **kwargs)


@keras.saving.register_keras_serializable(package="keras_optims")
@document
class GradientDescent(GradientDescentAlgorithm, KerasOptimizer):
    """Gradient descent, as the course writes it.

        W ← W − α·dW

    `dW` is the gradient of the mini-batch's cost (Keras averages the loss
    over the batch, so this is the mean gradient). With the batch size equal
    to the number of examples this is batch gradient descent; with batches of
    one shuffled example, stochastic gradient descent. The optimizer keeps no
    state beyond Keras's step counter.

    | symbol | argument        | default |
    | ------ | --------------- | ------- |
    | α      | `learning_rate` | 0.01    |

    Differences from `keras.optimizers.SGD`: none in the rule; `SGD()` with
    its default `momentum=0.0` computes the same update. This class exists so
    that the course's four optimizers share one interface, one validation and
    one verification suite.

    Args:
        {{learning_rate}}
        {{keras_arguments}}
    """
