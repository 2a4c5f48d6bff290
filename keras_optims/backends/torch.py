"""The PyTorch backend: every step in multi-tensor form.

A step updates all variables of one dtype and device together, the way
Keras's own PyTorch optimizers and ``torch.optim`` update, with no Python
loop per variable in the arithmetic:

- where one of torch's fused kernels computes the rule (the rule's record
  says which, `rules.Rule.torch`), unless ``fused=False``, in that kernel, in
  place: momentum in the fused SGD kernel (``torch._fused_sgd_``), gradient
  descent as one multiply-add pass, course RMSProp and both forms of Adam in
  the fused Adam kernel (``torch._fused_adam_``);
- otherwise (RMSProp's Keras ε form, and ``fused=False``) the rule's in-place
  form (`IN_PLACE`): the lines of the rule in `rules.py`, in its order, as
  in-place ``torch._foreach_*_`` ops, bit for bit the rule's steps (a test
  runs both, so a change to a rule fails until its in-place form follows);
- a rule with neither (a negative control's) as `rules.py` writes it, on
  `Tensors`: lists of tensors whose arithmetic is ``torch._foreach_*`` ops;
  the new values are then copied into the variables and slots.

Slots: one variable per model variable (`backends.PerVariableUpdater`). The
per-step scalars (α, t, the bias corrections) are computed by the rule's
``scalars`` function in Python floats (doubles); a scalar the rule rounds to
the variables' dtype (``math.like``) is rounded once the same way here
(`rounded`); the rule as written takes them as 0-d float64 tensors (`as_float64`).
"""

import math

import keras
import numpy as np
import torch

from keras_optims import backends, rules


class Tensors:
    """A list of tensors of one dtype and device with element-wise
    arithmetic by ``torch._foreach_*`` ops: ``a * b``, ``a + b``, ``a - b``,
    ``a / b`` with another `Tensors` or a scalar (a Python number or a 0-d
    tensor) on either side."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = list(items)

    @property
    def dtype(self):
        return self.items[0].dtype

    @property
    def device(self):
        return self.items[0].device

    @staticmethod
    def _operand(other):
        return other.items if isinstance(other, Tensors) else other

    def __mul__(self, other):
        return Tensors(torch._foreach_mul(self.items, self._operand(other)))

    __rmul__ = __mul__  # multiplication commutes, also in floating point

    def __add__(self, other):
        return Tensors(torch._foreach_add(self.items, self._operand(other)))

    __radd__ = __add__

    def __sub__(self, other):
        return Tensors(torch._foreach_sub(self.items, self._operand(other)))

    def __rsub__(self, other):
        # other − x as (−x) + other: negation is exact, so the rounding is the same.
        return Tensors(torch._foreach_add(torch._foreach_neg(self.items), self._operand(other)))

    def __truediv__(self, other):
        return Tensors(torch._foreach_div(self.items, self._operand(other)))


class Math:
    """The operations `rules.py` asks of a tensor library, for `Tensors`
    (element-wise) and 0-d float64 tensors (the per-step scalars)."""

    @staticmethod
    def sqrt(x):
        if isinstance(x, Tensors):
            return Tensors(torch._foreach_sqrt(x.items))
        return torch.sqrt(x)

    @staticmethod
    def like(x, reference):
        """`x` as a 0-d tensor of `reference`'s dtype and device (a Python
        float is rounded once)."""
        if isinstance(x, torch.Tensor):
            return x.to(dtype=reference.dtype, device=reference.device)
        return torch.tensor(float(x), dtype=reference.dtype, device=reference.device)

    @staticmethod
    def one_minus_power(beta, t):
        return 1.0 - beta**t


def as_float64(value, device):
    """A learning rate or step (a Python number: `as_float` reads them) as a
    0-d float64 tensor on `device`, for a rule run out of place."""
    return torch.tensor(float(value), dtype=torch.float64, device=device)


def _tensor_reader():
    """A function from a Keras variable to its torch tensor. Outside a
    stateless scope that is the variable's own tensor, read directly: the
    `value` property costs a few µs per call (scope and device checks),
    which over hundreds of variables per step would cost more than the
    update itself."""
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    if in_stateless_scope():
        return lambda variable: variable.value
    return lambda variable: variable._value


class FloatMath:
    """The `math` of the rules' ``*_scalars`` functions for per-step scalars
    as Python floats (doubles, as float64 tensors would hold them)."""

    sqrt = staticmethod(math.sqrt)
    one_minus_power = Math.one_minus_power  # 1 − βᵗ: the same expression for floats and tensors


def rounded(x, dtype):
    """The Python float `x` rounded once to `dtype`, as `Math.like` rounds it
    (a Python float passed to a torch op is otherwise taken in the op's
    compute type, float32 for half precision)."""
    if dtype is torch.float64:
        return x
    if dtype is torch.float32:
        return float(np.float32(x))
    return torch.tensor(x, dtype=dtype).item()


def as_float(value, tensor_of):
    """A learning rate or step (a Python number, a Keras variable or a 0-d
    tensor) as a Python float."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, keras.Variable):
        value = tensor_of(value)
    return float(value)


# In-place forms of the rules of `rules.py`: each runs the rule's element-wise
# lines in the rule's order, every product, sum, quotient and square root
# rounded exactly where the rule's expression rounds it, so the steps are
# bit-for-bit the rule's (tests/test_backends.py runs both). `W`, `dW` and the
# slots are lists of tensors of one dtype and device; `dtype` is theirs; the
# per-step scalars come from the rule's own ``*_scalars`` function.


def _gradient_descent(W, dW, *, dtype, lr, t):
    (lr,) = rules.gradient_descent_scalars(lr=lr, t=t, math=FloatMath)
    torch._foreach_sub_(W, torch._foreach_mul(dW, rounded(lr, dtype)))  # W − α·dW


def _momentum(W, dW, v, *, dtype, lr, t, beta, bias_correction):
    beta, one_minus_beta, step = rules.momentum_scalars(lr=lr, t=t, beta=beta, bias_correction=bias_correction,
                                                        math=FloatMath)
    torch._foreach_mul_(v, beta)
    torch._foreach_add_(v, torch._foreach_mul(dW, one_minus_beta))  # v ← β·v + (1 − β)·dW
    torch._foreach_sub_(W, torch._foreach_mul(v, rounded(step, dtype)))  # W − α·v


def _rmsprop(W, dW, s, *, dtype, lr, t, beta, epsilon, epsilon_mode):
    beta, one_minus_beta, lr, epsilon = rules.rmsprop_scalars(lr=lr, t=t, beta=beta, epsilon=epsilon,
                                                               epsilon_mode=epsilon_mode, math=FloatMath)
    squares = torch._foreach_mul(dW, dW)
    torch._foreach_mul_(squares, one_minus_beta)
    torch._foreach_mul_(s, beta)
    torch._foreach_add_(s, squares)  # s ← β·s + (1 − β)·dW²
    if epsilon_mode == rules.COURSE:
        denominator = torch._foreach_sqrt(s)
        torch._foreach_add_(denominator, epsilon)  # √s + ε
    else:
        denominator = torch._foreach_add(s, epsilon)
        torch._foreach_sqrt_(denominator)  # √(s + ε)
    update = torch._foreach_mul(dW, rounded(lr, dtype))
    torch._foreach_div_(update, denominator)
    torch._foreach_sub_(W, update)  # W − α·dW / denominator


def _adam(W, dW, v, s, *, dtype, lr, t, beta_1, beta_2, epsilon, epsilon_mode):
    beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, lr_t, epsilon_t = rules.adam_scalars(
        lr=lr, t=t, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, epsilon_mode=epsilon_mode, math=FloatMath
    )
    torch._foreach_mul_(v, beta_1)
    torch._foreach_add_(v, torch._foreach_mul(dW, one_minus_beta_1))  # v ← β₁·v + (1 − β₁)·dW
    squares = torch._foreach_mul(dW, dW)
    torch._foreach_mul_(squares, one_minus_beta_2)
    torch._foreach_mul_(s, beta_2)
    torch._foreach_add_(s, squares)  # s ← β₂·s + (1 − β₂)·dW²
    denominator = torch._foreach_sqrt(s)
    torch._foreach_add_(denominator, rounded(epsilon_t, dtype))  # √s + ε_t
    update = torch._foreach_mul(v, rounded(lr_t, dtype))
    torch._foreach_div_(update, denominator)
    torch._foreach_sub_(W, update)  # W − α_t·v / (√s + ε_t)


# By the rule's record: a negative control's rule (`Rule.planted`) is
# another record, which runs as written.
IN_PLACE = {rules.GRADIENT_DESCENT: _gradient_descent, rules.MOMENTUM: _momentum, rules.RMSPROP: _rmsprop,
            rules.ADAM: _adam}


def _sgd_kernel(W, dW, *slots, dtype, lr, t, beta=0.0, bias_correction=False):
    """Momentum in torch's fused SGD kernel (``torch._fused_sgd_``, as
    ``torch.optim.SGD(fused=True)``): with dampening β and a buffer that
    starts at zero (never "the first step"), its buf ← β·buf + (1 − β)·dW is
    the course's v ← β·v + (1 − β)·dW, and W ← W − α·buf its update
    (α/(1 − βᵗ) with bias correction).

    Gradient descent, and momentum with β = 0 (v = 0·v + 1·dW is dW,
    copied: the kernel keeps no buffer then), is W ← W − α·dW in one pass of
    multiply-adds (``torch._foreach_add_`` with ``alpha=-α``, as Keras's SGD
    runs it; measured faster than the fused SGD kernel on large variables)."""
    (lr,) = rules.gradient_descent_scalars(lr=lr, t=t, math=FloatMath)
    if slots:
        _, _, lr = rules.momentum_scalars(lr=lr, t=t, beta=beta, bias_correction=bias_correction, math=FloatMath)
        if beta != 0.0:
            torch._fused_sgd_(W, dW, slots[0], weight_decay=0.0, momentum=beta, lr=lr, dampening=beta,
                              nesterov=False, maximize=False, is_first_step=False)
            return
        torch._foreach_copy_(slots[0], dW)
    torch._foreach_add_(W, dW, alpha=-lr)


def _adam_kernel(W, dW, v, s, *, dtype, lr, t, beta_1, beta_2, epsilon, epsilon_mode):
    """Adam in torch's fused Adam kernel (``torch._fused_adam_``, as
    ``torch.optim.Adam(fused=True)``), which computes W ← W − α/(1 − β₁ᵗ)·v /
    (√s/√(1 − β₂ᵗ) + ε′) with its own rounding order. With ε′ = ε that is
    the course's form; with ε′ = ε/√(1 − β₂ᵗ) (multiply through by
    √(1 − β₂ᵗ)) it is Keras's "epsilon hat" form, α·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·v /
    (√s + ε)."""
    if epsilon_mode != rules.COURSE:
        epsilon = epsilon / math.sqrt(FloatMath.one_minus_power(beta_2, t))
    torch._fused_adam_(
        W, dW, v, s, [], [torch.tensor(float(t), dtype=torch.float32, device=W[0].device)] * len(W),
        # α as a Python float (a double): the kernels take a tensor α as
        # float32 on some devices, which would round a float64 model's α.
        lr=lr, beta1=beta_1, beta2=beta_2, weight_decay=0.0, eps=epsilon, amsgrad=False, maximize=False,
    )


def _rmsprop_kernel(W, dW, s, *, dtype, lr, t, beta, epsilon, epsilon_mode):
    """Course RMSProp in torch's fused Adam kernel: with β₁ = 0 its first
    moment is dW itself, and at a step count past which βᵗ is 0 (the largest
    float32) both bias corrections are exactly 1, leaving s ← β·s + (1 −
    β)·dW² and W ← W − α·dW / (√s + ε). The first moment's buffer is the
    gradient itself: the kernel writes 0·dW + 1·dW, the same values, back
    (`Updater.apply` makes every gradient contiguous, as the kernels need)."""
    past_every_power = torch.tensor(torch.finfo(torch.float32).max, device=W[0].device)
    torch._fused_adam_(W, dW, dW, s, [], [past_every_power] * len(W), lr=lr, beta1=0.0, beta2=beta,
                       weight_decay=0.0, eps=epsilon, amsgrad=False, maximize=False)


# Torch's fused kernels by the name a rule's record gives (`rules.Rule.torch`).
KERNELS = {"sgd": _sgd_kernel, "adam": _adam_kernel, "rmsprop": _rmsprop_kernel}


class Updater(backends.PerVariableUpdater):
    """Applies the rule (see the module docstring); slots as
    `backends.PerVariableUpdater` lays them out.

    Every step updates all variables of a dtype and device at once: in the
    torch fused kernel that the rule's record names (`KERNELS`), unless
    ``fused=False``; otherwise in the rule's in-place form (`IN_PLACE`), or
    as `rules.py` writes the rule, on `Tensors`. The kernels compute the
    course's update with their own rounding order; the verification suite
    checks every path against the course's math. The
    per-step scalars (α, the step t, the bias corrections) are Python
    floats: reading α and t costs one device-to-host read each, as Keras's
    own PyTorch SGD reads its α.
    """

    @staticmethod
    def fused_refusal(rule):
        if rule.torch is not None:
            return None
        return ("under PyTorch the fused kernels are torch's SGD and Adam, which compute gradient descent, "
                "momentum, course RMSProp (epsilon_mode='course') and Adam only")

    def slot_value(self, optimizer, variable, name):
        # A copy: the slot variable's tensor is updated in place by every step.
        return super().slot_value(optimizer, variable, name).detach().clone()

    def build(self, optimizer, variables):
        for variable in variables:
            backends.check_variable_and_gradient(variable, variable.shape)  # floating point
        super().build(optimizer, variables)

    @property
    def path(self):
        """"fused" where a torch kernel runs the rule (`step_function`), else
        "in-place"."""
        return "fused" if self.fused is not False and self.rule.torch else "in-place"

    def step_function(self):
        """How a step runs: the fused kernel the rule's record names (unless
        fused=False), else the rule's in-place form, else None (the rule as
        written)."""
        if self.fused is not False and self.rule.torch:
            return KERNELS[self.rule.torch]
        return IN_PLACE.get(self.rule.rule)

    def _groups(self, optimizer, variables):
        """The variables of a step grouped by dtype and device: a list of
        (dtype, device, [indices into `variables`], [[slot variables] per
        slot]), made once per list of variables (the optimizer's own, which
        it keeps alive: their ids stay theirs)."""
        key = tuple(map(id, variables))
        cached = getattr(self, "_cached_groups", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        found = {}
        for index, variable in enumerate(variables):
            value = variable.value
            group = found.setdefault((value.dtype, value.device), ([], [[] for _ in self.slot_names]))
            group[0].append(index)
            for k, slot in enumerate(self.slots_of(optimizer, variable)):
                group[1][k].append(slot)
        groups = [(dtype, device, indices, slots) for (dtype, device), (indices, slots) in found.items()]
        self._cached_groups = (key, groups)
        return groups

    # Run as it is, also inside torch.compile (Keras's jit_compile=True on
    # PyTorch): the step reads α and t as Python numbers, and the compiler
    # could not trace torch's fused kernels (measured: no meta kernel for
    # a tensor learning rate).
    @torch.compiler.disable
    @torch.no_grad()
    def apply(self, optimizer, gradients, variables, learning_rate):
        tensor_of = _tensor_reader()
        step_function = self.step_function()
        lr = as_float(learning_rate, tensor_of)
        t = as_float(optimizer.iterations, tensor_of) + 1.0
        tensors = [tensor_of(variable) for variable in variables]
        gradients = list(gradients)
        for i, (gradient, W) in enumerate(zip(gradients, tensors)):
            if not isinstance(gradient, torch.Tensor) or gradient.dtype != W.dtype or gradient.device != W.device:
                gradient = gradients[i] = torch.as_tensor(gradient, device=W.device).to(W.dtype)
            if not gradient.is_contiguous():
                # torch's fused kernels read a tensor as one contiguous block
                # (measured: a strided view's update read the wrong elements).
                gradient = gradients[i] = gradient.contiguous()
            if gradient.shape != W.shape:
                backends.check_variable_and_gradient(variables[i], tuple(gradient.shape))  # raises
        for dtype, device, indices, slot_variables in self._groups(optimizer, variables):
            W = [tensors[i] for i in indices]
            dW = [gradients[i] for i in indices]
            slots = [[tensor_of(slot) for slot in group] for group in slot_variables]
            if step_function is not None:
                step_function(W, dW, *slots, dtype=dtype, lr=lr, t=t, **self.rule.hyperparameters)
                continue
            new = self.rule(Tensors(W), Tensors(dW), *map(Tensors, slots), lr=as_float64(lr, device),
                            t=as_float64(t, device), math=Math)
            for target, value in zip([W, *slots], new):
                torch._foreach_copy_(target, value.items)
