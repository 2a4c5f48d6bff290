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
# # Is my Adam right?
#
# The course's assignment asks for `update_parameters_with_adam(parameters,
# grads, v, s, t, learning_rate, beta1, beta2, epsilon)`: dictionaries of
# parameters (`"W1"`, `"b1"`, …) and gradients (`"dW1"`, `"db1"`, …) in, the
# updated parameters and averages out. When its cost curve looks wrong, the
# question is not only *whether* the function is wrong but *what* it computes
# instead. `keras_optims.verification.identify` answers that: it runs a step
# function on seeded gradients and compares every step with every known form
# of Adam — the course's, Keras's "epsilon hat", and the common slips — and
# names the one it computes.
#
# Here: a correct implementation, five classic mistakes, what each looks like
# in code, and what `identify` calls it.

# %%
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 under JAX: before JAX is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

from keras_optims.verification import identify

COURSE = {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999,
                                epsilon=1e-8):
    """The course's Adam, as the assignment writes it, layer by layer."""
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            d = f"d{p}{l}"
            v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
            v_corrected[d] = v[d] / (1 - beta1**t)
            s[d] = beta2 * s[d] + (1 - beta2) * grads[d] ** 2
            s_corrected[d] = s[d] / (1 - beta2**t)
            parameters[f"{p}{l}"] = parameters[f"{p}{l}"] - learning_rate * v_corrected[d] / (
                np.sqrt(s_corrected[d]) + epsilon)
    return parameters, v, s, v_corrected, s_corrected


# %% [markdown]
# `identify` (like `check`) drives one variable at a time with a step of the
# form `step(W, dW, state, t) -> (W, state)`: float arrays, a dict of state
# (where a key never set reads as zeros, as the course's v and s start), and
# t = 1 on the first step. A few lines turn the assignment's function into
# that form: the variable becomes layer 1's `W1`, with a `b1` beside it whose
# gradient is always 0, so that the assignment's loop over `L` layers runs
# unchanged.

# %%
def as_step(update):
    def step(W, dW, state, t):
        zero = np.zeros(1)
        parameters, grads = {"W1": W, "b1": zero}, {"dW1": dW, "db1": zero}
        v, s = {"dW1": state["v"], "db1": zero}, {"dW1": state["s"], "db1": zero}
        parameters, v, s, *_ = update(parameters, grads, v, s, t, COURSE["learning_rate"], COURSE["beta_1"],
                                      COURSE["beta_2"], COURSE["epsilon"])
        return parameters["W1"], {"v": v["dW1"], "s": s["dW1"]}

    return step


found = identify(as_step(update_parameters_with_adam), "adam", **COURSE)
print(found)
assert found.best == "course" and not found.float32_hyperparameters

# %% [markdown]
# The table lists every known form of Adam, the one the function computes
# first: at every one of the 50 steps its W, v and s agree with the course's
# Adam to float64's rounding (relative error ~1e-16; the tolerance is 1e-12),
# and every other form is off from step 1. The gradients span eight decades
# (1e-8 to 1), so that ε decides the step of some elements and not of
# others: every mistake about ε shows.
#
# ## Five mistakes
#
# Each is the function above with one line changed. **ε inside the root**:

# %%
def adam_epsilon_inside_root(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            d = f"d{p}{l}"
            v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
            v_corrected[d] = v[d] / (1 - beta1**t)
            s[d] = beta2 * s[d] + (1 - beta2) * grads[d] ** 2
            s_corrected[d] = s[d] / (1 - beta2**t)
            parameters[f"{p}{l}"] -= learning_rate * v_corrected[d] / np.sqrt(s_corrected[d] + epsilon)  # here
    return parameters, v, s, v_corrected, s_corrected


# %% [markdown]
# **Bias correction forgotten** (v and s used as they are):

# %%
def adam_without_bias_correction(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    L = len(parameters) // 2
    for l in range(1, L + 1):
        for p in ("W", "b"):
            d = f"d{p}{l}"
            v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
            s[d] = beta2 * s[d] + (1 - beta2) * grads[d] ** 2
            parameters[f"{p}{l}"] -= learning_rate * v[d] / (np.sqrt(s[d]) + epsilon)  # here
    return parameters, v, s, v, s


# %% [markdown]
# **The correction a step off** (t counted from 0 somewhere, so βᵗ⁺¹):

# %%
def adam_t_off_by_one(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            d = f"d{p}{l}"
            v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
            v_corrected[d] = v[d] / (1 - beta1 ** (t + 1))  # here
            s[d] = beta2 * s[d] + (1 - beta2) * grads[d] ** 2
            s_corrected[d] = s[d] / (1 - beta2 ** (t + 1))  # and here
            parameters[f"{p}{l}"] -= learning_rate * v_corrected[d] / (np.sqrt(s_corrected[d]) + epsilon)
    return parameters, v, s, v_corrected, s_corrected


# %% [markdown]
# **β and 1 − β exchanged** in s:

# %%
def adam_swapped(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            d = f"d{p}{l}"
            v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
            v_corrected[d] = v[d] / (1 - beta1**t)
            s[d] = (1 - beta2) * s[d] + beta2 * grads[d] ** 2  # here
            s_corrected[d] = s[d] / (1 - beta2**t)
            parameters[f"{p}{l}"] -= learning_rate * v_corrected[d] / (np.sqrt(s_corrected[d]) + epsilon)
    return parameters, v, s, v_corrected, s_corrected


# %% [markdown]
# And one that is not a mistake in Keras, only a different convention:
# **"epsilon hat"**, the bias correction folded into the learning rate
# (α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ)), which puts ε beside √s instead of √ŝ:

# %%
def adam_epsilon_hat(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    L = len(parameters) // 2
    for l in range(1, L + 1):
        for p in ("W", "b"):
            d = f"d{p}{l}"
            v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
            s[d] = beta2 * s[d] + (1 - beta2) * grads[d] ** 2
            alpha_t = learning_rate * np.sqrt(1 - beta2**t) / (1 - beta1**t)  # here
            parameters[f"{p}{l}"] -= alpha_t * v[d] / (np.sqrt(s[d]) + epsilon)
    return parameters, v, s, v, s


# %% [markdown]
# `identify` names each:

# %%
mistakes = {
    "ε inside the root": (adam_epsilon_inside_root, "epsilon-inside-root"),
    "bias correction forgotten": (adam_without_bias_correction, "no-bias-correction"),
    "correction a step off": (adam_t_off_by_one, "t-off-by-one"),
    "β₂ and 1 − β₂ exchanged": (adam_swapped, "swapped"),
    "epsilon hat": (adam_epsilon_hat, "keras"),
}
for mistake, (update, expected) in mistakes.items():
    found = identify(as_step(update), "adam", **COURSE)
    nearest_other = found.forms[1]
    print(f"{mistake:26} → {found.best:20} (other forms off by at least {nearest_other.max_rel_error:.1g})")
    assert found.best == expected, found
    assert nearest_other.max_rel_error > 1e-4  # no near miss: a distinction no rounding could blur

# %% [markdown]
# Every mistake is named, and no other form comes within 1e-4 of it (against
# a tolerance of 1e-12): the forms are far apart on these gradients. The
# whole table of one of them shows how far each form is, and from which step:

# %%
found = identify(as_step(adam_epsilon_hat), "adam", **COURSE)
print(found)
assert found.clause().startswith("it computes Adam's Keras form (epsilon hat) at every step")

# %% [markdown]
# ## When it is none of them
#
# A mistake that no known form explains, for example s averaging the
# gradient instead of its square, gets no name: `best` is None, and the
# sentence says which form is nearest and from which step it is off. That
# is the sign to read the function line by line against the course's
# formulas.

# %%
def adam_without_the_square(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            d = f"d{p}{l}"
            v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
            v_corrected[d] = v[d] / (1 - beta1**t)
            s[d] = beta2 * s[d] + (1 - beta2) * np.abs(grads[d])  # here: |dW| instead of dW²
            s_corrected[d] = s[d] / (1 - beta2**t)
            parameters[f"{p}{l}"] -= learning_rate * v_corrected[d] / (np.sqrt(s_corrected[d]) + epsilon)
    return parameters, v, s, v_corrected, s_corrected


found = identify(as_step(adam_without_the_square), "adam", **COURSE)
print(found.clause())
assert found.best is None and found.matches == ()

# %% [markdown]
# ## The same question for a Keras optimizer
#
# `identify` takes a Keras optimizer too (a new one: it builds it on its own
# variables), and reads the hyperparameters from its config. Keras's own Adam
# is the epsilon-hat form; where Keras's TensorFlow backend rounds β₁ and β₂
# through float32 in float64 models, the table says so (see the Verification
# page):

# %%
import keras

found = identify(keras.optimizers.Adam(learning_rate=0.01), "adam", dtype="float32")
print(found.clause())
assert found.best == "keras"

# %% [markdown]
# In float32 (Keras's default dtype) every backend computes it to float32's
# rounding. A failing `verify` or `check` runs the same identification and
# adds its sentence to the report, so a check in CI that fails also says what
# it found.
