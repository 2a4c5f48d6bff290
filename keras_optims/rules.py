"""The course's update rules, each written once.

Every optimizer class of every Keras flavour calls one of these functions.
They are pure: they take the current values and return the new ones, and
never assign anything. Three faster forms restate some of them, and the
verification suite checks each against the course's math like the rules
themselves: the fused CPU kernel (`native/course_update.cc`, TensorFlow),
the in-place forms and the choice of torch's fused kernels in
`backends/torch.py` (PyTorch).

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
fused native kernel uses too (`fused_kernel`): the scalars are computed once,
in one place, whichever way the element-wise part runs.
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


def fused_kernel(rule, hyperparameters):
    """How the native kernel (`keras_optims/native/course_update.cc`) runs
    `rule`: ``(kernel name, scalars function)``, or ``(None, None)`` for a
    function that is not one of the four rules. The kernel restates each
    rule's element-wise lines in C++, in the same order, and takes the
    scalars function's values (float64, rounded once to the variable's dtype)."""
    if rule is gradient_descent:
        return "gradient_descent", gradient_descent_scalars
    if rule is momentum:
        return "momentum", momentum_scalars
    if rule is rmsprop:
        keras_mode = hyperparameters["epsilon_mode"] == KERAS
        return ("rmsprop_keras" if keras_mode else "rmsprop"), rmsprop_scalars
    if rule is adam:
        return "adam", adam_scalars
    return None, None
