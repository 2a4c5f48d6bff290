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
# # The course's ε and Keras's ε̂
#
# The course's Adam divides the corrected average by $\sqrt{\hat s} + \varepsilon$.
# Keras's Adam folds both corrections into the learning rate,
#
# $$\alpha_t = \alpha\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}, \qquad
# W \leftarrow W - \alpha_t\,\frac{v}{\sqrt{s} + \hat\varepsilon},$$
#
# which is the course's rule with ε replaced by
# $\hat\varepsilon/\sqrt{1-\beta_2^t}$: an ε that starts about 32 times larger
# (at $\beta_2 = 0.999$) and shrinks to $\hat\varepsilon$ over thousands of
# steps. This tutorial measures when that matters.

# %%
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 under JAX: before JAX is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_optims

t = np.arange(1, 10001)
effective = 1e-7 / np.sqrt(1 - 0.999**t)
print(f"ε̂ = 1e-7 acts as ε = {effective[0]:.2e} at t = 1, {effective[99]:.2e} at t = 100, {effective[-1]:.2e} at t = 10000")
assert 31 < effective[0] / 1e-7 < 32.5

figure, axis = plt.subplots(figsize=(7, 3.5))
axis.loglog(t, effective, label="Keras: ε̂/√(1 − β₂ᵗ), ε̂ = 1e-7")
axis.axhline(1e-7, color="k", linestyle="--", label="course: ε = 1e-7")
axis.set(xlabel="step t", ylabel="effective ε")
axis.legend()
plt.show()

# %% [markdown]
# *What to see: at the first step Keras's ε̂ acts as an ε about 32 times the
# course's (1/√(1 − 0.999) ≈ 31.6); the gap closes only as 0.999ᵗ → 0, within
# 30% by t = 1000 and gone after several thousand steps.*


# %% [markdown]
# ## When it matters: gradients near ε
#
# The step's size is about α·v̂/(√ŝ + ε). With gradients far above ε, ε does
# not count; with gradients of the order of ε (tiny losses, embedding rows
# that rarely get a gradient, low-precision scales), the larger effective ε
# shrinks Keras's steps. Both below take α = 0.001, Adam's default in the
# course and in Keras, and the same ε = 1e-7, Keras's default, so that the only
# difference left is where ε goes. The first step of each, for gradients of
# several sizes:


# %%
def first_step(optimizer, gradient):
    w = keras.Variable(np.zeros(1), dtype="float64")
    optimizer.apply([keras.ops.convert_to_tensor(np.array([gradient]))], [w])
    return -float(w.numpy()[0])


sizes = [1e-2, 1e-4, 1e-6, 1e-8]
ratios = []
for g in sizes:
    course = first_step(keras_optims.Adam(0.001, epsilon=1e-7), g)
    builtin = first_step(keras.optimizers.Adam(0.001, epsilon=1e-7), g)
    ratios.append(builtin / course)
    print(f"dW = {g:.0e}: course step {course:.3e}, Keras step {builtin:.3e}, ratio {builtin / course:.3f}")
assert ratios[0] > 0.99 and ratios[-1] < 0.1  # the same for large gradients, far smaller for tiny ones

# %% [markdown]
# ## Either rule, on request
#
# `epsilon_mode="keras"` computes Keras's form with this package's optimizer
# (its float64 exactness and verification included); the default is the
# course's.

# %%
rng = np.random.default_rng(0)
gradients = [rng.standard_normal(5) * 1e-6 for _ in range(50)]


def path(optimizer):
    w = keras.Variable(np.zeros(5), dtype="float64")
    for g in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(g)], [w])
    return np.asarray(w.numpy())


keras_path = path(keras.optimizers.Adam(0.001, epsilon=1e-7))
np.testing.assert_allclose(path(keras_optims.Adam(0.001, epsilon=1e-7, epsilon_mode="keras")), keras_path, rtol=1e-5)
course_path = path(keras_optims.Adam(0.001, epsilon=1e-7))
print(f"after 50 steps the course's weights moved {np.abs(course_path).sum() / np.abs(keras_path).sum():.2f}× as far")
assert np.abs(course_path).sum() > 1.3 * np.abs(keras_path).sum()
