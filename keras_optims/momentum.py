"""Gradient descent with momentum."""

import keras

from keras_optims import checks
from keras_optims import rules
from keras_optims.algorithm import Algorithm
from keras_optims.optimizer import KerasOptimizer, document


class MomentumAlgorithm(Algorithm):
    """What Momentum is, in both Keras flavours: its rule, slots and arguments."""

    rule = rules.MOMENTUM

    def __init__(self, learning_rate=0.01, beta=0.9, bias_correction=False, **kwargs):
        hyperparameters = {
            "beta": checks.check_decay("beta", beta),
            "bias_correction": checks.check_boolean("bias_correction", bias_correction),
        }
        super().__init__(learning_rate, hyperparameters=hyperparameters, **kwargs)


@keras.saving.register_keras_serializable(package="keras_optims")
@document
class Momentum(MomentumAlgorithm, KerasOptimizer):
    """Gradient descent with momentum, as the course writes it.

        v ← β·v + (1 − β)·dW
        W ← W − α·v                      (bias_correction=False, the default)
        W ← W − α·v / (1 − βᵗ)           (bias_correction=True)

    `v` is the exponentially weighted average of the gradients (`v_dW` in the
    course), starting at zero; `t` is the step, 1 on the first update. With
    β = 0.9 it averages over roughly the last 1/(1 − β) = 10 gradients. The
    course notes that most people skip the bias correction; without it the
    first steps are small (v₁ = (1 − β)·dW₁).

    | symbol | argument          | default |
    | ------ | ----------------- | ------- |
    | α      | `learning_rate`   | 0.01    |
    | β      | `beta`            | 0.9     |
    |        | `bias_correction` | False   |

    {{slots}}

    Differences from `keras.optimizers.SGD(momentum=β)`: Keras keeps
    `m ← β·m − lr·dW; W ← W + m`, a buffer with the learning rate inside it
    and no (1 − β) factor. It equals this rule only with `lr = α·(1 − β)` and a
    learning rate that never changes: under a schedule Keras's buffer still
    holds the steps taken with old learning rates, while the course's `v`
    holds gradients only. With β = 0 both are plain gradient descent.

    Args:
        {{learning_rate}}
        beta: β, in [0, 1). The decay of the average of the gradients.
        bias_correction: bool. Divide `v` by (1 − βᵗ) in the update (the
            stored `v` is never corrected).
        {{keras_arguments}}
    """
