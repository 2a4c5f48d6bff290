"""RMSProp (root-mean-square propagation)."""

import keras

from keras_optims import checks
from keras_optims import rules
from keras_optims.algorithm import Algorithm
from keras_optims.optimizer import KerasOptimizer, document


class RMSPropAlgorithm(Algorithm):
    """What RMSProp is, in both Keras flavours: its rule, slots and arguments."""

    rule = rules.RMSPROP

    def __init__(
        self,
        learning_rate=0.001,
        beta=0.9,
        epsilon=1e-8,
        epsilon_mode=rules.COURSE,
        **kwargs,
    ):
        hyperparameters = {
            "beta": checks.check_decay("beta", beta),
            **checks.check_epsilon(epsilon, epsilon_mode, rules.EPSILON_MODES),
        }
        super().__init__(learning_rate, hyperparameters=hyperparameters, **kwargs)


@keras.saving.register_keras_serializable(package="keras_optims")
@document
class RMSProp(RMSPropAlgorithm, KerasOptimizer):
    """RMSProp, as the course writes it.

        s ← β·s + (1 − β)·dW²
        W ← W − α·dW / (√s + ε)          (epsilon_mode="course", the default)
        W ← W − α·dW / √(s + ε)          (epsilon_mode="keras")

    `s` is the exponentially weighted average of the squared gradients
    (`S_dW` in the course), element-wise, starting at zero. Directions whose
    gradient oscillates strongly get a large `s` and so a small step. There is
    no bias correction (the course gives none for RMSProp).

    | symbol | argument        | default  |
    | ------ | --------------- | -------- |
    | α      | `learning_rate` | 0.001    |
    | β      | `beta`          | 0.9      |
    | ε      | `epsilon`       | 1e-8     |
    |        | `epsilon_mode`  | "course" |

    The course gives ε = 1e-8 and no default for β; 0.9 is Hinton's, and
    Keras's (`rho=0.9`).

    {{slots}}

    Differences from `keras.optimizers.RMSprop`: Keras adds ε inside the
    square root, `√(s + ε)`, and defaults to ε = 1e-7; early in training,
    when `s` is tiny, the two forms take very different steps. Keras also
    names β `rho` and offers `momentum` and `centered`, which the course does
    not have. `RMSProp(beta=ρ, epsilon=ε, epsilon_mode="keras")` reproduces
    `keras.optimizers.RMSprop(rho=ρ, epsilon=ε, momentum=0.0, centered=False)`.

    Args:
        {{learning_rate}}
        beta: β, in [0, 1). The decay of the average of the squared gradients.
        epsilon: ε, a finite float > 0, for numerical stability.
        epsilon_mode: "course" (ε outside the root, as above) or "keras"
            (ε inside the root, as `keras.optimizers.RMSprop`).
        {{keras_arguments}}
    """
