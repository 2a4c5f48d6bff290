"""The known forms of each algorithm: the course's, other libraries', and
the common slips, one NumPy step each, written from its formula.

Every form is a step in `check`'s reference form,
``form(W, dW, state, t, *, hyperparameters) -> (W, state)``: float64 arrays,
`state` a dict holding the form's own v and s (as that form defines them,
0 before the first step), t = 1 on the first step. The hyperparameters keep
the course's names: lr (α), beta (β), beta1 (β₁), beta2 (β₂), eps (ε).

    gradient descent
      course              W ← W − α·dW
    momentum
      course              v ← β·v + (1 − β)·dW;  W ← W − α·v
      bias-corrected      as course, with v / (1 − βᵗ)
      keras               v ← β·v − α·dW;  W ← W + v           (keras.optimizers.SGD)
      torch               v ← β·v + dW;  W ← W − α·v           (torch.optim.SGD, dampening 0; optax.trace)
      swapped             v ← (1 − β)·v + β·dW;  W ← W − α·v
    RMSProp
      course              s ← β·s + (1 − β)·dW²;  W ← W − α·dW / (√s + ε)
      keras               ε inside the root: W ← W − α·dW / √(s + ε)
      swapped             s ← (1 − β)·s + β·dW²
    Adam (v, s as momentum and RMSProp with β₁, β₂; v̂ = v / (1 − β₁ᵗ), ŝ = s / (1 − β₂ᵗ))
      course              W ← W − α·v̂ / (√ŝ + ε)
      keras               epsilon hat: W ← W − α·(√(1 − β₂ᵗ) / (1 − β₁ᵗ))·v / (√s + ε)
      epsilon-inside-root W ← W − α·v̂ / √(ŝ + ε)
      no-bias-correction  W ← W − α·v / (√s + ε)
      t-off-by-one        v̂ = v / (1 − β₁ᵗ⁺¹), ŝ = s / (1 − β₂ᵗ⁺¹)
      swapped             β₁ and 1 − β₁, or β₂ and 1 − β₂, exchanged in the averages

`FORMS` lists them per algorithm with their ids, a name for sentences and
the formula for tables; `form_of(function)` finds a form from its function.
"""

from dataclasses import dataclass, field

import numpy as np

from .optimizers import adam_step, gd_step, keras_sgd_step, momentum_step, rmsprop_step


def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def gradient_descent_course(W, dW, state, t, *, lr):
    return gd_step(W, dW, t, lr=lr)[0], {}


def momentum_course(W, dW, state, t, *, lr, beta):
    W, v = momentum_step(W, dW, state["v"], t, lr=lr, beta=beta)
    return W, {"v": v}


def momentum_bias_corrected(W, dW, state, t, *, lr, beta):
    W, v = momentum_step(W, dW, state["v"], t, lr=lr, beta=beta, bias_correction=True)
    return W, {"v": v}


def momentum_keras(W, dW, state, t, *, lr, beta):
    W, v = keras_sgd_step(W, dW, state["v"], t, lr=lr, momentum=beta)
    return W, {"v": v}


def momentum_torch(W, dW, state, t, *, lr, beta):
    W, dW, v = _f64(W, dW, state["v"])
    v = beta * v + dW
    return W - lr * v, {"v": v}


def momentum_swapped(W, dW, state, t, *, lr, beta):
    W, dW, v = _f64(W, dW, state["v"])
    v = (1 - beta) * v + beta * dW
    return W - lr * v, {"v": v}


def rmsprop_course(W, dW, state, t, *, lr, beta, eps):
    W, s = rmsprop_step(W, dW, state["s"], t, lr=lr, beta=beta, eps=eps)
    return W, {"s": s}


def rmsprop_keras(W, dW, state, t, *, lr, beta, eps):
    W, s = rmsprop_step(W, dW, state["s"], t, lr=lr, beta=beta, eps=eps, epsilon_mode="keras")
    return W, {"s": s}


def rmsprop_swapped(W, dW, state, t, *, lr, beta, eps):
    W, dW, s = _f64(W, dW, state["s"])
    s = (1 - beta) * s + beta * dW**2
    return W - lr * dW / (np.sqrt(s) + eps), {"s": s}


def adam_course(W, dW, state, t, *, lr, beta1, beta2, eps):
    W, v, s = adam_step(W, dW, state["v"], state["s"], t, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    return W, {"v": v, "s": s}


def adam_keras(W, dW, state, t, *, lr, beta1, beta2, eps):
    W, v, s = adam_step(W, dW, state["v"], state["s"], t, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                        epsilon_mode="keras")
    return W, {"v": v, "s": s}


def _averages(dW, state, beta1, beta2):
    """v ← β₁·v + (1 − β₁)·dW and s ← β₂·s + (1 − β₂)·dW², as float64."""
    dW, v, s = _f64(dW, state["v"], state["s"])
    return beta1 * v + (1 - beta1) * dW, beta2 * s + (1 - beta2) * dW**2


def adam_epsilon_inside_root(W, dW, state, t, *, lr, beta1, beta2, eps):
    v, s = _averages(dW, state, beta1, beta2)
    v_hat, s_hat = v / (1 - beta1**t), s / (1 - beta2**t)
    return np.asarray(W, np.float64) - lr * v_hat / np.sqrt(s_hat + eps), {"v": v, "s": s}


def adam_no_bias_correction(W, dW, state, t, *, lr, beta1, beta2, eps):
    v, s = _averages(dW, state, beta1, beta2)
    return np.asarray(W, np.float64) - lr * v / (np.sqrt(s) + eps), {"v": v, "s": s}


def adam_t_off_by_one(W, dW, state, t, *, lr, beta1, beta2, eps):
    v, s = _averages(dW, state, beta1, beta2)
    v_hat, s_hat = v / (1 - beta1 ** (t + 1)), s / (1 - beta2 ** (t + 1))
    return np.asarray(W, np.float64) - lr * v_hat / (np.sqrt(s_hat) + eps), {"v": v, "s": s}


def adam_swapped(W, dW, state, t, *, lr, beta1, beta2, eps, swap="both"):
    """The course's Adam with 1 − β₁ weighting the old v and β₁ the new
    gradient (swap="beta1"), the same for β₂ and s ("beta2"), or both."""
    if swap not in ("beta1", "beta2", "both"):
        raise ValueError(f"swap must be 'beta1', 'beta2' or 'both', not {swap!r}")
    weight1 = 1 - beta1 if swap in ("beta1", "both") else beta1
    weight2 = 1 - beta2 if swap in ("beta2", "both") else beta2
    v, s = _averages(dW, state, weight1, weight2)
    v_hat, s_hat = v / (1 - beta1**t), s / (1 - beta2**t)
    return np.asarray(W, np.float64) - lr * v_hat / (np.sqrt(s_hat) + eps), {"v": v, "s": s}


@dataclass(frozen=True)
class Form:
    """One known form: `step` in `check`'s reference form, its `state`
    keys, `name` for a sentence ("it computes <name>"), `formula` for a
    table, and `variants`: label -> extra keyword arguments of `step`, when
    one id stands for several forms (the swapped β of Adam)."""

    algorithm: str
    id: str
    name: str
    formula: str
    step: object
    state: tuple = ()
    variants: dict = field(default_factory=lambda: {"": {}})


# The hyperparameters of each algorithm, in the course's names.
HYPERPARAMETERS = {
    "gradient_descent": ("lr",),
    "momentum": ("lr", "beta"),
    "rmsprop": ("lr", "beta", "eps"),
    "adam": ("lr", "beta1", "beta2", "eps"),
}

_EMA = "v ← β·v + (1 − β)·dW"
_ADAM_AVERAGES = "v ← β₁·v + (1 − β₁)·dW; s ← β₂·s + (1 − β₂)·dW²; "

FORMS = {
    "gradient_descent": (
        Form("gradient_descent", "course", "the course's gradient descent", "W ← W − α·dW", gradient_descent_course),
    ),
    "momentum": (
        Form("momentum", "course", "the course's momentum", f"{_EMA}; W ← W − α·v", momentum_course, ("v",)),
        Form("momentum", "bias-corrected", "the course's momentum with bias correction",
             f"{_EMA}; W ← W − α·v / (1 − βᵗ)", momentum_bias_corrected, ("v",)),
        Form("momentum", "keras", "momentum's Keras form (the learning rate inside the buffer)",
             "v ← β·v − α·dW; W ← W + v", momentum_keras, ("v",)),
        Form("momentum", "torch", "momentum's torch form (no 1 − β)", "v ← β·v + dW; W ← W − α·v",
             momentum_torch, ("v",)),
        Form("momentum", "swapped", "momentum with β and 1 − β exchanged", "v ← (1 − β)·v + β·dW; W ← W − α·v",
             momentum_swapped, ("v",)),
    ),
    "rmsprop": (
        Form("rmsprop", "course", "the course's RMSProp", "s ← β·s + (1 − β)·dW²; W ← W − α·dW / (√s + ε)",
             rmsprop_course, ("s",)),
        Form("rmsprop", "keras", "RMSProp's Keras form (ε inside the root)",
             "s ← β·s + (1 − β)·dW²; W ← W − α·dW / √(s + ε)", rmsprop_keras, ("s",)),
        Form("rmsprop", "swapped", "RMSProp with β and 1 − β exchanged",
             "s ← (1 − β)·s + β·dW²; W ← W − α·dW / (√s + ε)", rmsprop_swapped, ("s",)),
    ),
    "adam": (
        Form("adam", "course", "the course's Adam", _ADAM_AVERAGES + "W ← W − α·v̂ / (√ŝ + ε)", adam_course,
             ("v", "s")),
        Form("adam", "keras", "Adam's Keras form (epsilon hat)",
             _ADAM_AVERAGES + "W ← W − α·(√(1 − β₂ᵗ) / (1 − β₁ᵗ))·v / (√s + ε)", adam_keras, ("v", "s")),
        Form("adam", "epsilon-inside-root", "Adam with ε inside the root",
             _ADAM_AVERAGES + "W ← W − α·v̂ / √(ŝ + ε)", adam_epsilon_inside_root, ("v", "s")),
        Form("adam", "no-bias-correction", "Adam without bias correction",
             _ADAM_AVERAGES + "W ← W − α·v / (√s + ε)", adam_no_bias_correction, ("v", "s")),
        Form("adam", "t-off-by-one", "Adam with its bias correction a step off",
             _ADAM_AVERAGES + "v̂ = v / (1 − β₁ᵗ⁺¹), ŝ = s / (1 − β₂ᵗ⁺¹); W ← W − α·v̂ / (√ŝ + ε)",
             adam_t_off_by_one, ("v", "s")),
        Form("adam", "swapped", "Adam with β and 1 − β exchanged",
             "β₁ and 1 − β₁, or β₂ and 1 − β₂, exchanged in v and s; W ← W − α·v̂ / (√ŝ + ε)", adam_swapped,
             ("v", "s"), {"β₁": {"swap": "beta1"}, "β₂": {"swap": "beta2"}, "β₁ and β₂": {"swap": "both"}}),
    ),
}

ALGORITHMS = tuple(FORMS)


def form_of(function):
    """The `Form` whose step `function` is, or None."""
    return next((form for forms in FORMS.values() for form in forms if form.step is function), None)
