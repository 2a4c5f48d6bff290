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
# # Learning-rate decay per epoch
#
# With a fixed α, mini-batch gradient descent never settles: each batch's
# gradient is noisy, so near the minimum it keeps wandering around it. The
# course's remedy lowers α as the epochs pass,
#
# $$\alpha = \frac{\alpha_0}{1 + \text{decay\_rate}\cdot\text{epoch\_num}},$$
#
# large steps early, small ones once close. Keras's schedules see the step,
# not the epoch; `keras_optims.schedules` take `steps_per_epoch` and count
# epochs.

# %%
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 under JAX: before JAX is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_optims
from keras_optims.callbacks import LearningRateLogger
from keras_optims.schedules import (EpochStaircase, ExponentialEpochDecay, InverseSqrtEpochDecay,
                                    InverseTimeEpochDecay)

# %% [markdown]
# ## The lecture's numbers
#
# The lecture's example: α₀ = 0.2, decay_rate = 1, epochs counted from 1, gives
# 0.1, 0.067, 0.05, 0.04. `epoch_numbering="lecture"` counts as it does.

# %%
lecture = InverseTimeEpochDecay(0.2, decay_rate=1.0, steps_per_epoch=10, epoch_numbering="lecture")
rates = [round(float(lecture(10 * epoch)), 3) for epoch in range(4)]
print(rates)
assert rates == [0.1, 0.067, 0.05, 0.04]

# %% [markdown]
# ## The four schedules
#
# The lecture names other forms too: exponential decay ($0.95^{\text{epoch}}\,\alpha_0$),
# $k/\sqrt{\text{epoch\_num}}\cdot\alpha_0$, and a staircase set by hand.

# %%
epochs = np.arange(30)
schedules = {
    "1/(1 + epoch)": InverseTimeEpochDecay(0.2, 1.0, steps_per_epoch=1),
    "0.95^epoch": ExponentialEpochDecay(0.2, 0.95, steps_per_epoch=1),
    "1/√epoch_num": InverseSqrtEpochDecay(0.2, 1.0, steps_per_epoch=1),
    "staircase": EpochStaircase([10, 20], [0.2, 0.1, 0.05], steps_per_epoch=1),
}
figure, axis = plt.subplots(figsize=(7, 3.5))
for label, schedule in schedules.items():
    axis.plot(epochs, [float(schedule(e)) for e in epochs], label=label)
axis.set(xlabel="epoch", ylabel="α")
axis.legend()
plt.show()

# %% [markdown]
# *What to see: all four start at α₀ = 0.2. 1/(1 + epoch) halves α after one
# epoch and ends lowest (α₀/30); 1/√epoch_num falls more slowly (α₀/√30);
# 0.95^epoch loses 5% each epoch; the staircase holds each value for ten
# epochs.*


# %% [markdown]
# ## Decay lets mini-batch gradient descent settle
#
# A linear regression with noisy targets, mini-batches of 8, 40 epochs, the
# same α₀ with and without decay. The least-squares solution is the minimum
# of the whole training set's cost; how far each run ends from it.
#
# α₀ = 0.1 is a tenth of the largest rate gradient descent survives here (the
# inputs are standardised, so the cost curves by about 2 in every direction
# and steps diverge above α ≈ 1): the fixed-rate run reaches the minimum's
# neighbourhood within the first epochs, and from then on each noisy batch of
# 8 moves it around the minimum, which is what decay is for.

# %%
rng = np.random.default_rng(0)
X = rng.standard_normal((256, 3))
Y = X @ np.array([[1.0], [-2.0], [0.5]]) + rng.normal(0, 0.5, (256, 1))
best = np.linalg.lstsq(np.c_[X, np.ones(256)], Y, rcond=None)[0]


def distance_to_minimum(learning_rate):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.GradientDescent(learning_rate), loss="mse")
    logger = LearningRateLogger()
    history = model.fit(X, Y, batch_size=8, epochs=40, verbose=0, callbacks=[logger])
    kernel, bias = model.get_weights()
    return float(np.linalg.norm(np.r_[kernel, bias[None]] - best)), history.history["learning_rate"]


fixed, fixed_rates = distance_to_minimum(0.1)
decayed, decayed_rates = distance_to_minimum(InverseTimeEpochDecay(0.1, decay_rate=1.0, steps_per_epoch=256 // 8))
print(f"fixed α = 0.1: {fixed:.4f} from the minimum; decayed: {decayed:.4f} (α after 40 epochs: {decayed_rates[-1]:.4f})")
assert decayed < 0.5 * fixed
np.testing.assert_allclose(decayed_rates, [0.1 / (1 + e) for e in range(40)], rtol=1e-6)  # float32 under JAX without x64
