"""The course's update rules, each written once.

Every optimizer class of every Keras flavour calls one of these functions.
They are pure: they take the current values and return the new ones, and
never assign anything. Faster forms compute them, and the verification
suite checks each against the course's math like the rules themselves: the
fused CPU kernel (`native/course_update.cc`, TensorFlow) and the in-place
forms (`backends/torch.py`, PyTorch), which restate each rule's element-wise
lines, and torch's own fused kernels.

Conventions (course notation):

- ``W``, ``dW``, ``v``, ``s`` are tensors of the variable's dtype (element-wise
  math runs in that dtype, as in Keras);
- ``lr`` (α) and ``t`` (the step, 1, 2, …) are float64 scalars, and every
  per-step scalar (βᵗ, 1 − βᵗ, √(1 − β₂ᵗ)) is computed in float64 and rounded
  once to the variable's dtype with ``math.like``;
- hyperparameters (β, β₁, β₂, ε) are Python floats; an expression such as
  ``(1 - beta) * dW`` rounds the exact double ``1 − β`` once to the variable's
  dtype (in float64 nothing is rounded at all);
- ``math`` supplies the operations that differ between tensor libraries
  (one class per backend, `keras_optims.backends`): ``math.sqrt(x)``,
  ``math.like(x, ref)`` (a scalar cast to ``ref``'s dtype) and
  ``math.one_minus_power(β, t)`` (1 − βᵗ, for the bias corrections).

Each rule's per-step scalars come from its ``*_scalars`` function, which the
faster forms take too: the scalars are computed once, in one place, whichever
way the element-wise part runs. `Rule` (at the end) is each rule's record:
its update, its scalars, its slots and which faster forms compute it; every
other file reads a rule from its record.
"""

COURSE = "course"
KERAS = "keras"
EPSILON_MODES = (COURSE, KERAS)


def gradient_descent_scalars(*, lr, t, math):
    """``(α,)``."""
    return (lr,)


def gradient_descent(W, dW, *, lr, t, math):
    """``W ← W − α·dW``. (Every rule takes the step ``t``; this one ignores it.)"""
    (lr,) = gradient_descent_scalars(lr=lr, t=t, math=math)
    return (W - math.like(lr, W) * dW,)


def momentum_scalars(*, lr, t, beta, bias_correction, math):
    """``(β, 1 − β, α)``, or ``(β, 1 − β, α/(1 − βᵗ))`` with bias correction."""
    step = lr / math.one_minus_power(beta, t) if bias_correction else lr
    return beta, 1.0 - beta, step


def momentum(W, dW, v, *, lr, t, beta, bias_correction, math):
    """``v ← β·v + (1 − β)·dW``; ``W ← W − α·v`` (or ``α·v/(1 − βᵗ)``)."""
    beta, one_minus_beta, step = momentum_scalars(lr=lr, t=t, beta=beta, bias_correction=bias_correction, math=math)
    v = beta * v + one_minus_beta * dW
    return W - math.like(step, W) * v, v


def rmsprop_scalars(*, lr, t, beta, epsilon, epsilon_mode, math):
    """``(β, 1 − β, α, ε)``, in either ε mode."""
    return beta, 1.0 - beta, lr, epsilon


def rmsprop(W, dW, s, *, lr, t, beta, epsilon, epsilon_mode, math):
    """``s ← β·s + (1 − β)·dW²``; ``W ← W − α·dW/(√s + ε)``.

    With ``epsilon_mode="keras"``: ``W ← W − α·dW/√(s + ε)``. No bias
    correction, so ``t`` is unused.
    """
    beta, one_minus_beta, lr, epsilon = rmsprop_scalars(
        lr=lr, t=t, beta=beta, epsilon=epsilon, epsilon_mode=epsilon_mode, math=math
    )
    s = beta * s + one_minus_beta * (dW * dW)
    if epsilon_mode == COURSE:
        denominator = math.sqrt(s) + epsilon
    else:
        denominator = math.sqrt(s + epsilon)
    return W - math.like(lr, W) * dW / denominator, s


def adam(W, dW, v, s, *, lr, t, beta_1, beta_2, epsilon, epsilon_mode, math):
    """Adam with bias correction.

    Course (``epsilon_mode="course"``)::

        v ← β₁·v + (1 − β₁)·dW          v̂ = v / (1 − β₁ᵗ)
        s ← β₂·s + (1 − β₂)·dW²         ŝ = s / (1 − β₂ᵗ)
        W ← W − α·v̂ / (√ŝ + ε)

    Keras ("epsilon hat", ``epsilon_mode="keras"``)::

        W ← W − α·(√(1 − β₂ᵗ) / (1 − β₁ᵗ))·v / (√s + ε)

    Both are computed as ``W ← W − α_t·v / (√s + ε_t)`` with the per-step
    scalars ``α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ)`` and ``ε_t = ε·√(1 − β₂ᵗ)``
    (course) or ``ε_t = ε`` (Keras). For the course form this is the same
    expression multiplied through by √(1 − β₂ᵗ) — exact algebra, so the
    results differ only by rounding — and it needs one division per element
    instead of three, which is what makes the step memory-bound rather than
    division-bound on CPU. The verification suite checks it against the
    literal v̂/(√ŝ + ε) form to 1e-12 (float64).
    """
    beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, lr_t, epsilon_t = adam_scalars(
        lr=lr, t=t, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, epsilon_mode=epsilon_mode, math=math
    )
    v = beta_1 * v + one_minus_beta_1 * dW
    s = beta_2 * s + one_minus_beta_2 * (dW * dW)
    W = W - math.like(lr_t, W) * v / (math.sqrt(s) + math.like(epsilon_t, s))
    return W, v, s


def adam_scalars(*, lr, t, beta_1, beta_2, epsilon, epsilon_mode, math):
    """``(β₁, 1 − β₁, β₂, 1 − β₂, α_t, ε_t)`` (see `adam`)."""
    root_correction_2 = math.sqrt(math.one_minus_power(beta_2, t))
    lr_t = lr * root_correction_2 / math.one_minus_power(beta_1, t)
    epsilon_t = epsilon * root_correction_2 if epsilon_mode == COURSE else epsilon
    return beta_1, 1.0 - beta_1, beta_2, 1.0 - beta_2, lr_t, epsilon_t


class Rule:
    """One update rule, with everything that runs it: the record that the
    optimizer classes (`Algorithm.rule`), the TensorFlow fused path, the
    PyTorch backend and the verification's negative controls all read.

    Attributes:
        name: what the rule is called in messages.
        update: the pure function, ``update(W, dW, *slots, lr=, t=, math=,
            **hyperparameters)`` returning ``(W, *slots)``.
        scalars: its per-step scalars, ``scalars(lr=, t=, math=,
            **hyperparameters)``, which every faster form takes too.
        slots: the course symbols of its slots, in the order `update` takes
            them.
        native: ``native(hyperparameters)``, the fused CPU kernel's entry
            (`native/course_update.cc`) that restates the update, or None
            where none does.
        torch: ``torch(hyperparameters)``, the torch fused kernel that
            computes the update (``"sgd"``, ``"adam"`` or ``"rmsprop"``,
            `backends/torch.py`), or None where none does.
    """

    __slots__ = ("name", "update", "scalars", "slots", "native", "torch")

    def __init__(self, name, update, scalars, slots=(), *, native=None, torch=None):
        self.name, self.update, self.scalars, self.slots = name, update, scalars, tuple(slots)
        self.native = native or (lambda hyperparameters: None)
        self.torch = torch or (lambda hyperparameters: None)

    def __repr__(self):
        return f"Rule({self.name!r})"

    def planted(self, update, name):
        """The same arguments, scalars and slots with another update and no
        faster form (native or torch): a negative control's rule."""
        return Rule(name, update, self.scalars, self.slots)

    def bind(self, **hyperparameters):
        return Bound(self, hyperparameters)


class Bound:
    """A `Rule` with one optimizer's hyperparameters: called as
    ``bound(W, dW, *slots, lr=, t=, math=)``."""

    __slots__ = ("rule", "hyperparameters")

    def __init__(self, rule, hyperparameters):
        self.rule, self.hyperparameters = rule, dict(hyperparameters)

    def __call__(self, W, dW, *slots, lr, t, math):
        return self.rule.update(W, dW, *slots, lr=lr, t=t, math=math, **self.hyperparameters)

    def scalars(self, *, lr, t, math):
        return self.rule.scalars(lr=lr, t=t, math=math, **self.hyperparameters)

    @property
    def native(self):
        """The fused CPU kernel's entry for these hyperparameters, or None."""
        return self.rule.native(self.hyperparameters)

    @property
    def torch(self):
        """Torch's fused kernel for these hyperparameters, or None."""
        return self.rule.torch(self.hyperparameters)


def _course_epsilon(course, keras):
    return lambda hyperparameters: course if hyperparameters["epsilon_mode"] == COURSE else keras


# The four rules. The C++ kernel has an entry for each form; torch's fused
# SGD kernel computes gradient descent and momentum, its fused Adam kernel
# course RMSProp and both forms of Adam (`backends/torch.py` says how).
GRADIENT_DESCENT = Rule("gradient descent", gradient_descent, gradient_descent_scalars,
                        native=lambda _: "gradient_descent", torch=lambda _: "sgd")
MOMENTUM = Rule("momentum", momentum, momentum_scalars, ("v",),
                native=lambda _: "momentum", torch=lambda _: "sgd")
RMSPROP = Rule("RMSProp", rmsprop, rmsprop_scalars, ("s",),
               native=_course_epsilon("rmsprop", "rmsprop_keras"), torch=_course_epsilon("rmsprop", None))
ADAM = Rule("Adam", adam, adam_scalars, ("v", "s"), native=lambda _: "adam", torch=lambda _: "adam")
