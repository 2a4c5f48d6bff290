"""Adam (adaptive moment estimation)."""

import keras

from keras_optims import checks
from keras_optims import rules
from keras_optims.algorithm import Algorithm
from keras_optims.optimizer import KerasOptimizer, document


class AdamAlgorithm(Algorithm):
    """What Adam is, in both Keras flavours: its rule, slots and arguments."""

    rule = rules.ADAM

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        epsilon_mode=rules.COURSE,
        **kwargs,
    ):
        hyperparameters = {
            "beta_1": checks.check_decay("beta_1", beta_1),
            "beta_2": checks.check_decay("beta_2", beta_2),
            **checks.check_epsilon(epsilon, epsilon_mode, rules.EPSILON_MODES),
        }
        super().__init__(learning_rate, hyperparameters=hyperparameters, **kwargs)


@keras.saving.register_keras_serializable(package="keras_optims")
@document
class Adam(AdamAlgorithm, KerasOptimizer):
    """Adam, as the course writes it: momentum and RMSProp, bias-corrected.

        v ← β₁·v + (1 − β₁)·dW            v̂ = v / (1 − β₁ᵗ)
        s ← β₂·s + (1 − β₂)·dW²           ŝ = s / (1 − β₂ᵗ)
        W ← W − α·v̂ / (√ŝ + ε)

    `v` and `s` are the exponentially weighted averages of the gradients and
    of their squares (`V_dW`, `S_dW` in the course), starting at zero; `t` is
    the step, 1 on the first update. Only the update uses the corrected
    v̂ and ŝ; the stored averages are never corrected.

    | symbol | argument        | default  |
    | ------ | --------------- | -------- |
    | α      | `learning_rate` | 0.001    |
    | β₁     | `beta_1`        | 0.9      |
    | β₂     | `beta_2`        | 0.999    |
    | ε      | `epsilon`       | 1e-8     |
    |        | `epsilon_mode`  | "course" |

    {{slots}}

    Differences from `keras.optimizers.Adam`: Keras uses "epsilon hat",

        α_t = α·√(1 − β₂ᵗ) / (1 − β₁ᵗ)
        W ← W − α_t·v / (√s + ε̂)

    which is the course's rule with ε replaced by ε̂/√(1 − β₂ᵗ): at t = 1 and
    β₂ = 0.999 Keras's ε acts about 32 times larger than the course's. Keras
    also defaults to ε = 1e-7 and calls the slots `momentum` and `velocity`.
    `Adam(epsilon=ε, epsilon_mode="keras")` reproduces
    `keras.optimizers.Adam(epsilon=ε)` (with `amsgrad=False`).

    Args:
        {{learning_rate}}
        beta_1: β₁, in [0, 1). The decay of the average of the gradients.
        beta_2: β₂, in [0, 1). The decay of the average of their squares.
        epsilon: ε, a finite float > 0, for numerical stability.
        epsilon_mode: "course" (ε added to √ŝ, as above) or "keras" (ε added
            to √s, "epsilon hat", as `keras.optimizers.Adam`).
        {{keras_arguments}}
    """
