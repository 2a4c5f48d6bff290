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
# # The course's programming assignment with `model.fit`
#
# The programming assignment "Optimization methods" trains a 2-5-2-1 network
# on two moons with mini-batch gradient descent, momentum and Adam, with and
# without learning-rate decay, and prints the cost every 1000 epochs. Here the
# same training runs as a Keras model with `model.fit` and keras-optims, and
# prints the assignment's numbers to the last printed digit.
#
# This tutorial runs the first 1001 epochs of two runs (a few seconds each);
# `python examples/course_assignment.py --backend tensorflow|jax|torch` runs
# all seven for the assignment's 5000 epochs.
#
# Everything is float64, as NumPy computes in the assignment. Under JAX,
# float64 needs x64, which must be switched on before JAX is imported.

# %%
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

import keras_optims
from keras_optims.schedules import InverseTimeEpochDecay
from keras_optims.verification import course_assignment as assignment, reference
from keras_optims.verification.reference import assignment as course

keras.config.set_floatx("float64")
print("Keras", keras.__version__, "on", keras.backend.backend())

# %% [markdown]
# ## The data, the network and its initial weights
#
# `course.load_dataset()` is the assignment's `load_dataset`: 300 points of
# two moons after `np.random.seed(3)`, in the course's layout (examples are
# columns). Keras wants examples in rows, hence the transposes.
# `course.initialize_parameters()` draws the assignment's He initialisation
# from `np.random.seed(3)`; Keras's `Dense` kernel is `W[l]` transposed.

# %%
X, Y = course.load_dataset()
print("X:", X.shape, "Y:", Y.shape, "positives:", int(Y.sum()))


def assignment_model():
    model = keras.Sequential([
        keras.Input((2,)),
        keras.layers.Dense(5, activation="relu"),
        keras.layers.Dense(2, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    parameters = course.initialize_parameters()
    model.set_weights([
        parameters["W1"].T, parameters["b1"].ravel(),
        parameters["W2"].T, parameters["b2"].ravel(),
        parameters["W3"].T, parameters["b3"].ravel(),
    ])
    return model


assert assignment_model().layers[0].kernel.dtype == "float64"

# %% [markdown]
# ## Mini-batches as the assignment cuts them
#
# Every epoch the assignment seeds NumPy with 11, 12, 13, … and draws one
# permutation of the 300 examples, then cuts four batches of 64 and a last one
# of 44. `fit` takes a Python generator on every backend; with
# `steps_per_epoch=5` it reads five batches per epoch from it, in order.

# %%
STEPS_PER_EPOCH = 5


def mini_batches(epochs):
    for i in range(epochs):
        for Xb, Yb in course.random_mini_batches(X, Y, 64, seed=11 + i):
            yield Xb.T, Yb.T


print([Xb.shape[0] for Xb, _ in mini_batches(1)])

# %% [markdown]
# ## Which epoch is epoch 1?
#
# The assignment computes the learning rate for epoch i + 1 after epoch i,
# from i: `learning_rate = update_lr(learning_rate0, i, decay_rate)`. So
# epochs 0 and 1 both train with α₀. The lecture counts epochs from 1, so
# its first epoch already has α₀/2; this package's default counts Keras's
# epochs from 0. The schedules take the numbering as an argument:

# %%
rates = {
    numbering: [
        float(InverseTimeEpochDecay(0.1, 1.0, STEPS_PER_EPOCH, epoch_numbering=numbering)(e * STEPS_PER_EPOCH))
        for e in range(4)
    ]
    for numbering in ("zero_based", "lecture", "assignment")
}
for numbering, values in rates.items():
    print(f"{numbering:>11}:", ", ".join(f"{v:.4f}" for v in values))

# The assignment's own loop, replayed with its update_lr:
replayed = reference.assignment_rates(0.1, 4, reference.update_lr, decay_rate=1)
np.testing.assert_allclose(rates["assignment"], replayed, rtol=1e-15)
assert rates["lecture"][0] == 0.05 and rates["zero_based"][0] == 0.1

# %% [markdown]
# ## Training: the cost the assignment prints is Keras's epoch loss
#
# The assignment adds up each batch's cross-entropy (summed over its
# examples, computed before the batch's update) and divides by 300. Keras's
# `loss` for an epoch is the mean of the batch losses weighted by the batch
# sizes: the same number. So the cost after epoch 1000 is
# `history.history["loss"][1000]`.


# %%
def train(optimizer, epochs=1001):
    model = assignment_model()
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    # shuffle=False: the generator already shuffles, as the assignment does.
    history = model.fit(
        mini_batches(epochs), epochs=epochs, steps_per_epoch=STEPS_PER_EPOCH, shuffle=False, verbose=0
    )
    return model, history.history["loss"]


published = {run.id: run.published for run in assignment.RUNS}
costs = {
    "adam": train(keras_optims.Adam(0.0007, beta_1=0.9, beta_2=0.999, epsilon=1e-8))[1],
    "gd-decay-every-1000": train(keras_optims.GradientDescent(
        InverseTimeEpochDecay(0.1, 1.0, STEPS_PER_EPOCH, time_interval=1000, epoch_numbering="assignment")
    ))[1],
}
print(f"{'run':<22}{'epoch 0':>10}{'1000':>10}   published")
for run, cost in costs.items():
    print(f"{run:<22}{cost[0]:>10.6f}{cost[1000]:>10.6f}   {published[run][0]:.6f}, {published[run][1]:.6f}")
    assert [f"{c:.6f}" for c in (cost[0], cost[1000])] == [f"{p:.6f}" for p in published[run][:2]], run

# %% [markdown]
# At the same α = 0.0007, gradient descent's cost after 1000 epochs is
# 0.668101 (the assignment's number, which `examples/course_assignment.py`
# reproduces): Adam's is about a quarter of it, the course's point about
# adaptive steps. Gradient descent with α₀ = 0.1 decayed every 1000 epochs
# gets there too, at the price of a schedule to tune.

# %%
assert costs["adam"][1000] < 0.3 * published["gd"][1]
assert costs["gd-decay-every-1000"][1000] < costs["adam"][1000]
