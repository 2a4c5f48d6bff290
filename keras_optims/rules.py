"""The course's update rules, each written once.

Every optimizer class of every Keras flavour calls one of these functions; no
other file restates the math. They are pure: they take the current values and
return the new ones, and never assign anything.

Conventions (course notation):

- ``W``, ``dW``, ``v``, ``s`` are tensors of the variable's dtype (element-wise
  math runs in that dtype, as in Keras);
- ``lr`` (α) and ``t`` (the step, 1, 2, …) are float64 scalars, and every
  per-step scalar (βᵗ, 1 − βᵗ, √(1 − β₂ᵗ)) is computed in float64 and rounded
  once to the variable's dtype with ``math.like``;
- hyperparameters (β, β₁, β₂, ε) are Python floats; an expression such as
  ``(1 - beta) * dW`` rounds the exact double ``1 − β`` once to the variable's
  dtype (in float64 nothing is rounded at all);
- ``math`` supplies the two operations that differ between tensor libraries:
  ``math.sqrt(x)`` and ``math.like(x, ref)`` (a scalar cast to ``ref``'s dtype).
"""

COURSE = "course"
KERAS = "keras"
EPSILON_MODES = (COURSE, KERAS)


def gradient_descent(W, dW, *, lr, t, math):
    """``W ← W − α·dW``. (Every rule takes the step ``t``; this one ignores it.)"""
    return (W - math.like(lr, W) * dW,)


def momentum(W, dW, v, *, lr, t, beta, bias_correction, math):
    """``v ← β·v + (1 − β)·dW``; ``W ← W − α·v`` (or ``α·v/(1 − βᵗ)``)."""
    v = beta * v + (1.0 - beta) * dW
    step = lr / (1.0 - beta**t) if bias_correction else lr
    return W - math.like(step, W) * v, v


def rmsprop(W, dW, s, *, lr, t, beta, epsilon, epsilon_mode, math):
    """``s ← β·s + (1 − β)·dW²``; ``W ← W − α·dW/(√s + ε)``.

    With ``epsilon_mode="keras"``: ``W ← W − α·dW/√(s + ε)``. No bias
    correction, so ``t`` is unused.
    """
    s = beta * s + (1.0 - beta) * (dW * dW)
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
    v = beta_1 * v + (1.0 - beta_1) * dW
    s = beta_2 * s + (1.0 - beta_2) * (dW * dW)
    root_correction_2 = math.sqrt(1.0 - beta_2**t)
    lr_t = lr * root_correction_2 / (1.0 - beta_1**t)
    epsilon_t = epsilon * root_correction_2 if epsilon_mode == COURSE else epsilon
    W = W - math.like(lr_t, W) * v / (math.sqrt(s) + math.like(epsilon_t, s))
    return W, v, s
