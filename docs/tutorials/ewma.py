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
# # Exponentially weighted averages and bias correction
#
# The course smooths a noisy series θ₁, θ₂, … with
#
# $$V_t = \beta V_{t-1} + (1-\beta)\,\theta_t, \qquad V_0 = 0,$$
#
# which averages roughly the last $1/(1-\beta)$ values, and corrects the start
# with $V_t / (1 - \beta^t)$. Here both by hand on a year of noisy daily
# temperatures, then the same average of the training loss with the `EWMA`
# callback in `model.fit`.

# %%
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 under JAX: before JAX is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_optims
from keras_optims.callbacks import EWMA

rng = np.random.default_rng(0)
days = np.arange(365)
temperature = 12 - 10 * np.cos(2 * np.pi * (days - 15) / 365) + rng.normal(0, 3, 365)


def ewma(series, beta, bias_correction):
    V, out = 0.0, []
    for t, theta in enumerate(series, start=1):
        V = beta * V + (1 - beta) * theta
        out.append(V / (1 - beta**t) if bias_correction else V)
    return np.array(out)


# %% [markdown]
# ## β sets the window
#
# β = 0.5 averages about 2 days, β = 0.9 about 10, β = 0.98 about 50: the larger
# β, the smoother the curve and the later it follows a change.

# %%
smooth = {beta: ewma(temperature, beta, True) for beta in (0.5, 0.9, 0.98)}
roughness = {beta: float(np.abs(np.diff(values)).mean()) for beta, values in smooth.items()}
print({beta: round(r, 3) for beta, r in roughness.items()})
assert roughness[0.5] > roughness[0.9] > roughness[0.98]

figure, axis = plt.subplots(figsize=(8, 3.5))
axis.plot(days, temperature, ".", color="0.7", markersize=3, label="θ (daily)")
for beta, values in smooth.items():
    axis.plot(days, values, label=f"β = {beta}")
axis.set(xlabel="day", ylabel="°C")
axis.legend()
plt.show()

# %% [markdown]
# *What to see: β = 0.5 (about 2 days) follows nearly every wiggle of the
# gray data; β = 0.9 (about 10 days) is smoother; β = 0.98 (about 50 days) is
# smoothest, and runs late: it turns with the seasons weeks after the data.*


# %% [markdown]
# ## Bias correction
#
# Starting from $V_0 = 0$, the uncorrected average begins far below the data:
# after the first day it is only $(1-\beta)\,\theta_1$. Dividing by
# $1-\beta^t$ removes that, and matters less and less as $\beta^t \to 0$.

# %%
raw, corrected = ewma(temperature, 0.98, False), ewma(temperature, 0.98, True)
print(f"day 1: θ = {temperature[0]:.2f}, V = {raw[0]:.3f}, V/(1-β) = {corrected[0]:.2f}")
assert np.isclose(corrected[0], temperature[0], rtol=1e-12)  # one value: its own average
assert abs(raw[9] - temperature[:10].mean()) > 5 * abs(corrected[9] - temperature[:10].mean())
assert abs(raw[-1] - corrected[-1]) < 1e-2  # after 365 days, 0.98^365 ≈ 6e-4

figure, axis = plt.subplots(figsize=(8, 3.5))
axis.plot(days, temperature, ".", color="0.7", markersize=3, label="θ")
axis.plot(days, raw, label="V, β = 0.98")
axis.plot(days, corrected, label="V / (1 − βᵗ)")
axis.legend()
plt.show()

# %% [markdown]
# *What to see: the uncorrected V starts near zero and takes weeks to climb
# to the data's level; the corrected average starts at the first day's
# temperature; once 0.98ᵗ is small (after a few months) the two lines are one.*


# %% [markdown]
# ## The same average of the training loss, in `fit`
#
# `EWMA("loss", beta=0.9)` smooths each batch's loss the same way and writes
# `ewma_loss` into the logs (and `batch_loss`, each batch's own value, which it
# recovers from Keras's running mean of the epoch). Adam's α = 0.01, ten
# times its default, makes this small network's loss fall visibly within the
# three epochs.

# %%
x = rng.standard_normal((512, 2)).astype("float32")
y = (x[:, 0] * x[:, 1] > 0).astype("float32")
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras_optims.Adam(0.01), loss="binary_crossentropy")
batch_losses, smoothed = [], []


def record(batch, logs):
    batch_losses.append(logs["batch_loss"])
    smoothed.append(logs["ewma_loss"])


model.fit(x, y, batch_size=32, epochs=3, verbose=0,
          callbacks=[EWMA("loss", beta=0.9), keras.callbacks.LambdaCallback(on_train_batch_end=record)])
np.testing.assert_allclose(smoothed, ewma(batch_losses, 0.9, True), rtol=1e-6)
print(f"{len(batch_losses)} batches; last loss {batch_losses[-1]:.3f}, smoothed {smoothed[-1]:.3f}")

figure, axis = plt.subplots(figsize=(8, 3.5))
axis.plot(batch_losses, color="0.7", label="batch loss")
axis.plot(smoothed, label="EWMA, β = 0.9, corrected")
axis.set(xlabel="batch", ylabel="loss")
axis.legend()
plt.show()

# %% [markdown]
# *What to see: each batch's loss (gray) jumps from batch to batch; the
# corrected average follows its trend downward from the first batch on.*

# %% [markdown]
# The [Explorer](../explorer.md) draws the average of a year of temperatures for
# β = 0.5 … 0.98, with and without bias correction: move β and watch the curve
# smooth and lag.
