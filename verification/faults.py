"""Deliberately wrong optimizers: the negative controls.

Each class looks like a course optimizer (same arguments, same config, same
slots) but its rule has one of the mistakes the suite exists to catch: the
course rule's record with a wrong update planted (`Rule.planted`), which no
faster form (native or torch) computes, so every backend runs the mistake.
`verify` must fail on every one of them; the test suite and the CLI prove
that it does.
"""

from keras_optims import rules
from keras_optims.adam import Adam
from keras_optims.momentum import Momentum
from keras_optims.rmsprop import RMSProp


def _rmsprop_epsilon_inside_root(W, dW, s, *, epsilon_mode, **rest):
    return rules.rmsprop(W, dW, s, epsilon_mode=rules.KERAS, **rest)


def _adam_epsilon_hat(W, dW, v, s, *, epsilon_mode, **rest):
    return rules.adam(W, dW, v, s, epsilon_mode=rules.KERAS, **rest)


def _adam_epsilon_1e7(W, dW, v, s, *, epsilon, **rest):
    return rules.adam(W, dW, v, s, epsilon=1e-7, **rest)


def _adam_without_bias_correction(W, dW, v, s, *, lr, t, beta_1, beta_2, epsilon, epsilon_mode, math):
    v = beta_1 * v + (1.0 - beta_1) * dW
    s = beta_2 * s + (1.0 - beta_2) * (dW * dW)
    return W - math.like(lr, W) * v / (math.sqrt(s) + epsilon), v, s


def _momentum_learning_rate_in_buffer(W, dW, v, *, lr, t, beta, bias_correction, math):
    # Keras's SGD(momentum=β) written with the course's names: v ← β·v − α·dW; W ← W + v.
    v = beta * v - math.like(lr, W) * dW
    return W + v, v


class RMSPropEpsilonInsideRoot(RMSProp):
    """Claims the course's RMSProp, computes W − α·dW/√(s + ε)."""

    rule = rules.RMSPROP.planted(_rmsprop_epsilon_inside_root, "RMSProp with ε inside the root")


class AdamEpsilonHat(Adam):
    """Claims the course's Adam, computes Keras's "epsilon hat" form."""

    rule = rules.ADAM.planted(_adam_epsilon_hat, "Adam with epsilon hat")


class AdamWrongEpsilon(Adam):
    """Claims ε = 1e-8, computes with ε = 1e-7 (Keras's default)."""

    rule = rules.ADAM.planted(_adam_epsilon_1e7, "Adam with ε = 1e-7")


class AdamWithoutBiasCorrection(Adam):
    """Claims the course's Adam, forgets v̂ and ŝ."""

    rule = rules.ADAM.planted(_adam_without_bias_correction, "Adam without bias correction")


class MomentumLearningRateInBuffer(Momentum):
    """Claims the course's momentum, keeps Keras's lr-inside-the-buffer form."""

    rule = rules.MOMENTUM.planted(_momentum_learning_rate_in_buffer, "momentum with α in its buffer")


# (control id, what is wrong, a configured instance, the known form it
# computes: the id `identify` must name, from `reference.forms`). ε = 1e-7
# where the config says 1e-8 is the course's form at other
# hyperparameters, which no form at the configured ones explains: None.
FAULTS = [
    ("epsilon-inside-root", "RMSProp with ε inside the root", lambda: RMSPropEpsilonInsideRoot(0.01), "keras"),
    ("epsilon-hat", "Adam with Keras's epsilon hat", lambda: AdamEpsilonHat(0.01), "keras"),
    ("epsilon-1e-7", "Adam with ε = 1e-7 instead of 1e-8", lambda: AdamWrongEpsilon(0.01), None),
    ("no-bias-correction", "Adam without bias correction", lambda: AdamWithoutBiasCorrection(0.01),
     "no-bias-correction"),
    ("lr-in-momentum", "momentum with the learning rate in its buffer", lambda: MomentumLearningRateInBuffer(0.05),
     "keras"),
]
