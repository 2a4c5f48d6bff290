# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Write your own optimizer and prove it
#
# A Keras 3 optimizer is a subclass of `keras.optimizers.Optimizer` with a
# `build` that makes its state and an `update_step`. Whether it computes the
# rule you meant is a separate question, which `keras_optims.verification.check`
# answers: it drives your optimizer and a NumPy step you write on the same
# seeded gradients, and compares the weights and every state entry after
# every step.
#
# Here: Adam with the course's ε, from scratch (Keras's own uses ε̂), then one
# planted mistake that the check catches at step 1.

# %%
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 under JAX: before JAX is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
from keras import ops

from keras_optims.verification import check


class CourseAdam(keras.optimizers.Optimizer):
    """v ← β₁v + (1−β₁)dW;  s ← β₂s + (1−β₂)dW²;  W ← W − α·v̂/(√ŝ + ε)"""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.v, self.s = self.add_optimizer_variables(variables, ["v", "s"])

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        v, s = self.v[index], self.s[index]
        t = ops.cast(self.iterations + 1, variable.dtype)
        # `.value`: the backend's tensor, which keeps the Python float β exact.
        self.assign(v, self.beta_1 * v.value + (1 - self.beta_1) * gradient)
        self.assign(s, self.beta_2 * s.value + (1 - self.beta_2) * ops.square(gradient))
        v_hat = v.value / (1 - self.beta_1**t)
        s_hat = s.value / (1 - self.beta_2**t)
        lr = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, lr * v_hat / (ops.sqrt(s_hat) + self.epsilon))


# %% [markdown]
# The reference takes float64 arrays and returns the new weights and state;
# `t` is 1 on the first step. It is written with the course's values (α =
# 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-8), with one exception: it takes `lr`
# and uses what `check` passes, the learning rate the optimizer actually holds.
# Keras keeps a learning rate in a float32 variable, where 0.001 is
# 0.0010000000474974513; a reference that used 0.001 itself would differ from
# the optimizer by that rounding (about 5e-8, far above float64's tolerance of
# 1e-12) from the first step, and the check would blame a rounding, not a bug.
# β₁, β₂ and ε stay Python floats in the optimizer, multiplied with the
# backend's tensors (`v.value`, not the Keras variable `v`): under PyTorch,
# Keras 3.15 rounds a Python float through float32 when it meets a Keras
# variable (`0.9 * v` multiplies by 0.8999999762), a slip this same check
# catches at step 2.


# %%
def adam_step(W, dW, state, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    v = b1 * state["v"] + (1 - b1) * dW
    s = b2 * state["s"] + (1 - b2) * dW**2
    v_hat, s_hat = v / (1 - b1**t), s / (1 - b2**t)
    return W - lr * v_hat / (np.sqrt(s_hat) + eps), {"v": v, "s": s}


report = check(CourseAdam(), adam_step, slots={"v": "v", "s": "s"}, steps=50)
print(f"passed: {report.passed}, worst relative error {report.max_rel_error:.1e}")
assert report.passed, report

# %% [markdown]
# ## A planted mistake
#
# The most common slip: the bias correction forgotten in the reference (or, the
# same thing seen from the other side, in the optimizer). The check fails at
# the first step and says where.


# %%
def no_bias_correction(W, dW, state, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    v = b1 * state["v"] + (1 - b1) * dW
    s = b2 * state["s"] + (1 - b2) * dW**2
    return W - lr * v / (np.sqrt(s) + eps), {"v": v, "s": s}


report = check(CourseAdam(), no_bias_correction, slots={"v": "v", "s": "s"}, steps=50)
print(report.first_failure)
assert not report.passed and report.first_failure.step == 1 and report.first_failure.tensor == "W"

# %% [markdown]
# In a test suite, `keras_optims.verification.testing.assert_optimizer_matches`
# makes the same check an assertion, worded like `numpy.testing`'s.

# %%
from keras_optims.verification.testing import assert_optimizer_matches

assert_optimizer_matches(CourseAdam(), adam_step, slots={"v": "v", "s": "s"}, steps=20)
try:
    assert_optimizer_matches(CourseAdam(), no_bias_correction, slots={"v": "v", "s": "s"}, steps=20)
except AssertionError as error:
    print(str(error).splitlines()[0])
else:
    raise AssertionError("the planted mistake was not caught")
