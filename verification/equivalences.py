"""How the course's forms relate to other libraries (DESIGN.md §1), each
claim proven step by step against `reference/`, with a control that breaks
the claim's condition and must fail.

An `Equivalence.run(dtype, steps)` returns (report, control report); the
row holds when the report passes and the control fails. A step-level claim
is written once, as its two `Side`s (`compared`): the claim and its control
in words are the table's (`EQUIVALENCES`), which the verification page
renders (docs/hooks.py). A row whose peer
library (`Equivalence.needs`) is not installed or does not import is
skipped, with the reason (`unavailable`).
"""

import dataclasses
import functools
import importlib

import keras
import numpy as np

from keras_optims.verification import reference
from keras_optims.verification.drivers import Driver, OptaxDriver, TorchDriver
from keras_optims.verification.harness import Report, compare_steps
from keras_optims.verification.tolerances import UNIT_ROUNDOFF

# Values exact in float32: Keras casts Python hyperparameters through float32
# (ops.cast(0.9, "float64") == 0.8999999762), which must not enter a float64
# comparison of the formulas themselves.
ALPHA, BETA, BETA_2, EPS = 2.0**-5, 0.875, 1 - 2.0**-10, 2.0**-20


@dataclasses.dataclass(frozen=True)
class Equivalence:
    id: str
    claim: str
    control: str
    run: object  # (dtype, steps) -> (Report, Report)
    needs: str = ""  # a module that must be importable


def constant(alpha):
    return lambda step: alpha


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of a step-level equivalence: a new driver of the peer's
    optimizer, the reference step it is held to, and that step's state."""

    name: str
    driver: object  # () -> a driver (`drivers`)
    step: object  # reference step (W, dW, *state, t, lr=α)
    state: tuple


def compared(sides):
    """An `Equivalence.run` from `sides()` -> (claim's Side, control's Side):
    each side compared step by step at α = ALPHA."""

    def run(dtype, steps):
        return tuple(compare_steps(side.name, side.driver(), side.step, steps, dtype, state=side.state,
                                   lr_at=constant(ALPHA)) for side in sides())

    return run


def keras_sgd_momentum():
    def driver(lr):
        return lambda: Driver(keras.optimizers.SGD(learning_rate=lr, momentum=BETA), {}, compiled=True)

    step = functools.partial(reference.momentum_step, beta=BETA)
    return (Side("keras SGD(momentum=β, lr=α(1−β))", driver(ALPHA * (1 - BETA)), step, ("v",)),
            Side("keras SGD(momentum=β, lr=α)", driver(ALPHA), step, ("v",)))


def keras_rmsprop():
    driver = lambda: Driver(keras.optimizers.RMSprop(ALPHA, rho=BETA, epsilon=EPS), {"s": "_velocities"},  # noqa: E731
                            compiled=True)
    step = functools.partial(reference.rmsprop_step, beta=BETA, eps=EPS)
    return (Side("keras RMSprop vs ε inside √", driver, functools.partial(step, epsilon_mode="keras"), ("s",)),
            Side("keras RMSprop vs course ε", driver, functools.partial(step, epsilon_mode="course"), ("s",)))


def keras_adam():
    driver = lambda: Driver(keras.optimizers.Adam(ALPHA, beta_1=BETA, beta_2=BETA_2, epsilon=EPS),  # noqa: E731
                            {"v": "_momentums", "s": "_velocities"}, compiled=True)
    step = functools.partial(reference.adam_step, beta1=BETA, beta2=BETA_2, eps=EPS)
    return (Side("keras Adam vs epsilon hat", driver, functools.partial(step, epsilon_mode="keras"), ("v", "s")),
            Side("keras Adam vs course ε", driver, functools.partial(step, epsilon_mode="course"), ("v", "s")))


def tf_keras_adam_adaptive_epsilon():
    import tf_keras

    def driver(adaptive):
        return lambda: Driver(tf_keras.optimizers.Adam(ALPHA, beta_1=BETA, beta_2=BETA_2, epsilon=EPS,
                                                       adaptive_epsilon=adaptive),
                              {"v": "_momentums", "s": "_velocities"}, compiled=True)

    step = functools.partial(reference.adam_step, beta1=BETA, beta2=BETA_2, eps=EPS, epsilon_mode="course")
    return (Side("tf_keras Adam(adaptive_epsilon=True)", driver(True), step, ("v", "s")),
            Side("tf_keras Adam(adaptive_epsilon=False)", driver(False), step, ("v", "s")))


def torch_sgd_momentum():
    import torch

    def torch_step(with_offset):
        # torch starts its buffer at dW₁, not (1 − β)·dW₁: it holds
        # b_t = v_t + βᵗ·dW₁, and W ← W − α·b_t.
        def step(W, dW, v, dW1, t, *, lr):
            dW1 = dW if t == 1 else dW1
            _, v = reference.momentum_step(W, dW, v, t, lr=lr, beta=BETA)
            buffer = v + (BETA**t * dW1 if with_offset else 0.0)
            return W - lr * buffer, v, dW1

        return step

    driver = lambda: TorchDriver(lambda params: torch.optim.SGD(params, lr=ALPHA, momentum=BETA,  # noqa: E731
                                                                dampening=BETA), {})
    return (Side("torch SGD(dampening=β) vs v + βᵗ·dW₁", driver, torch_step(True), ("v", "dW1")),
            Side("torch SGD(dampening=β) vs course v", driver, torch_step(False), ("v", "dW1")))


def torch_rmsprop():
    import torch

    driver = lambda: TorchDriver(  # noqa: E731
        lambda params: torch.optim.RMSprop(params, lr=ALPHA, alpha=BETA, eps=EPS), {"s": "square_avg"})
    step = functools.partial(reference.rmsprop_step, beta=BETA, eps=EPS)
    return tuple(Side(f"torch RMSprop vs {mode} ε", driver, functools.partial(step, epsilon_mode=mode), ("s",))
                 for mode in ("course", "keras"))


def torch_adam():
    import torch

    driver = lambda: TorchDriver(lambda params: torch.optim.Adam(params, lr=ALPHA, betas=(BETA, BETA_2),  # noqa: E731
                                                                 eps=EPS), {"v": "exp_avg", "s": "exp_avg_sq"})
    step = functools.partial(reference.adam_step, beta1=BETA, beta2=BETA_2, eps=EPS)
    return tuple(Side(f"torch Adam vs {mode} ε", driver, functools.partial(step, epsilon_mode=mode), ("v", "s"))
                 for mode in ("course", "keras"))


def optax_adam():
    import optax

    slots = {"v": lambda state, i: state[0].mu[i], "s": lambda state, i: state[0].nu[i]}
    driver = lambda: OptaxDriver(optax.adam(ALPHA, b1=BETA, b2=BETA_2, eps=EPS), slots)  # noqa: E731
    step = functools.partial(reference.adam_step, beta1=BETA, beta2=BETA_2, eps=EPS)
    return tuple(Side(f"optax adam vs {mode} ε", driver, functools.partial(step, epsilon_mode=mode), ("v", "s"))
                 for mode in ("course", "keras"))


def optax_rmsprop():
    import optax

    def driver(eps_in_sqrt):
        return lambda: OptaxDriver(optax.rmsprop(ALPHA, decay=BETA, eps=EPS, eps_in_sqrt=eps_in_sqrt),
                                   {"s": lambda state, i: state[0].nu[i]})

    step = functools.partial(reference.rmsprop_step, beta=BETA, eps=EPS, epsilon_mode="course")
    return tuple(Side(f"optax rmsprop(eps_in_sqrt={flag})", driver(flag), step, ("s",)) for flag in (False, True))


def optax_sgd_momentum():
    import optax

    # optax keeps the trace b ← β·b + dW (no 1 − β) and steps by lr·b: with
    # lr = α(1 − β), b = v/(1 − β), and the step is course momentum's.
    def driver(lr):
        return lambda: OptaxDriver(optax.sgd(lr, momentum=BETA), {"v": lambda state, i: (1 - BETA) * state[0].trace[i]})

    step = functools.partial(reference.momentum_step, beta=BETA)
    return tuple(Side(f"optax sgd(momentum=β, lr={lr:g})", driver(lr), step, ("v",))
                 for lr in (ALPHA * (1 - BETA), ALPHA))


def schedule_report(name, schedule, expected_at, steps, tolerance):
    """Compares schedule(step) with expected_at(step) for steps 0 … steps−1."""
    abs_errors, rel_errors = [], []
    for step in range(steps):
        got, want = float(np.asarray(schedule(step))), expected_at(step)
        abs_errors.append(abs(got - want))
        rel_errors.append(abs(got - want) / abs(want))
    return Report(name, "float64", abs_errors, rel_errors, [tolerance(step) for step in range(steps)])


SPE, T = 7, 3


def keras_float32_tolerance(step):
    """Keras's built-in schedules compute in float32: a few roundings of u,
    and a float32-rounded rate raised to the power e multiplies its
    rounding by e."""
    return (8 + step // SPE) * UNIT_ROUNDOFF["float32"]


def _schedule_rows(name, at_epoch, keras_schedule, broken):
    """Rows comparing a Keras built-in schedule with the reference's epoch
    formula `at_epoch(e)` at every step."""

    def run(dtype, steps):
        # At least past the last boundary used below (epoch 10 of SPE steps),
        # so that the control's off-by-one boundary is reached at any --steps.
        steps = max(steps, 11 * SPE)
        expected = lambda step: at_epoch(reference.epoch_of(step, SPE))  # noqa: E731
        main = schedule_report(f"{name} (Keras)", keras_schedule, expected, steps, keras_float32_tolerance)
        control = schedule_report(f"{name} (broken Keras)", broken, expected, steps, keras_float32_tolerance)
        return main, control

    return run


EQUIVALENCES = [
    Equivalence(
        "keras-sgd-momentum",
        "Keras SGD(momentum=β) with lr = α(1−β) equals course momentum",
        "lr = α instead of α(1−β)",
        compared(keras_sgd_momentum),
    ),
    Equivalence("keras-rmsprop", "Keras RMSprop puts ε inside the root", "compared with the course's ε",
                compared(keras_rmsprop)),
    Equivalence("keras-adam", "Keras Adam uses epsilon hat", "compared with the course's ε", compared(keras_adam)),
    Equivalence(
        "tf-keras-adam",
        "tf_keras Adam(adaptive_epsilon=True) equals course Adam",
        "adaptive_epsilon=False",
        compared(tf_keras_adam_adaptive_epsilon),
        needs="tf_keras",
    ),
    Equivalence(
        "torch-sgd-dampening",
        "torch SGD(momentum=β, dampening=β) differs from course momentum by βᵗ·dW₁",
        "without the βᵗ·dW₁ term",
        compared(torch_sgd_momentum),
        needs="torch",
    ),
    Equivalence("torch-rmsprop", "torch RMSprop equals course RMSProp", "Keras's ε form", compared(torch_rmsprop),
                needs="torch"),
    Equivalence("torch-adam", "torch Adam equals course Adam", "Keras's ε form", compared(torch_adam), needs="torch"),
    Equivalence("optax-adam", "optax adam equals course Adam", "Keras's ε form", compared(optax_adam), needs="optax"),
    Equivalence(
        "optax-rmsprop",
        "optax rmsprop(eps_in_sqrt=False) equals course RMSProp",
        "eps_in_sqrt=True, optax's default: ε inside the root",
        compared(optax_rmsprop),
        needs="optax",
    ),
    Equivalence(
        "optax-sgd-momentum",
        "optax sgd(momentum=β) with lr = α(1−β) equals course momentum",
        "lr = α instead of α(1−β)",
        compared(optax_sgd_momentum),
        needs="optax",
    ),
    Equivalence(
        "keras-inverse-time-decay",
        "Keras InverseTimeDecay(decay_steps=spe·T, staircase=True) equals the course's decay with interval T",
        "staircase=False",
        _schedule_rows(
            "inverse time decay",
            lambda e: reference.inverse_time_decay(0.2, 0.5, e, time_interval=T),
            keras.optimizers.schedules.InverseTimeDecay(0.2, SPE * T, 0.5, staircase=True),
            keras.optimizers.schedules.InverseTimeDecay(0.2, SPE * T, 0.5, staircase=False),
        ),
    ),
    Equivalence(
        "keras-exponential-decay",
        "Keras ExponentialDecay(decay_steps=spe, staircase=True) equals α₀·rateᵉ",
        "staircase=False",
        _schedule_rows(
            "exponential decay",
            lambda e: reference.exponential_decay(0.2, 0.95, e),
            keras.optimizers.schedules.ExponentialDecay(0.2, SPE, 0.95, staircase=True),
            keras.optimizers.schedules.ExponentialDecay(0.2, SPE, 0.95, staircase=False),
        ),
    ),
    Equivalence(
        "keras-piecewise-constant",
        "Keras PiecewiseConstantDecay([b·spe − 1], values) equals the epoch staircase",
        "boundaries b·spe",
        _schedule_rows(
            "epoch staircase",
            lambda e: reference.staircase([3, 10], [0.3, 0.1, 0.05], e),
            keras.optimizers.schedules.PiecewiseConstantDecay([3 * SPE - 1, 10 * SPE - 1], [0.3, 0.1, 0.05]),
            keras.optimizers.schedules.PiecewiseConstantDecay([3 * SPE, 10 * SPE], [0.3, 0.1, 0.05]),
        ),
    ),
]


def unavailable(equivalence):
    """Why `equivalence` cannot run here (its peer library is not installed,
    or fails to import: e.g. tf_keras beside a TensorFlow that does not
    import), or None when it can."""
    if not equivalence.needs:
        return None
    try:
        importlib.import_module(equivalence.needs)
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] == equivalence.needs:
            return f"{equivalence.needs} is not installed"
        return f"{equivalence.needs} cannot be imported: {error}"
    except Exception as error:  # a broken install: the row is skipped, the run goes on
        return f"{equivalence.needs} cannot be imported: {type(error).__name__}: {error}"
    return None
