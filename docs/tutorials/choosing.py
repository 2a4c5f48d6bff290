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
# # Choosing α and the batch size
#
# The course: "getting a good value of α is much more important" than the
# rest, and the mini-batch size is a power of two "that we might search for",
# with batch gradient descent about as fast as anything for m ≤ 2000. Here
# both on scikit-learn's handwritten digits (m = 1,797 images of 8 × 8 pixels,
# the course's "small data set"), then the batch size on a larger set where
# mini-batches should win. (The digits come with scikit-learn:
# `pip install scikit-learn`.)

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, make_classification

import keras_optims
from keras_optims.tuning import find_learning_rate, sweep_batch_size

digits = load_digits()
x = (digits.data / 16.0).astype("float32")  # pixels from 0 … 16 to 0 … 1
y = digits.target
print(x.shape, np.bincount(y))


def network(seed=0):
    """64 inputs, one hidden layer of 64 ReLU units, softmax over 10 digits;
    the same first weights for every run of this page."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


# %% [markdown]
# ## The learning-rate range test
#
# One short run: step k uses $\alpha_k = \alpha_{\min}(\alpha_{\max}/\alpha_{\min})^{k/(K-1)}$
# from 10⁻⁷ to 10 over K = 100 mini-batches of 64, recording each batch's own
# loss and its bias-corrected average (β = 0.98, about 50 batches). The model
# is put back exactly as it was afterwards.

# %%
model = network()
model.compile(optimizer=keras_optims.Adam(), loss="sparse_categorical_crossentropy")
before = [w.copy() for w in model.get_weights()]
found = find_learning_rate(model, x, y, batch_size=64, verbose=0)
print(f"stopped: {found.stopped} after {len(found.losses)} steps; suggestion α = {found.suggestion:.3g}")
print(found.reason)
assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing lost
assert found.suggestion is not None and 1e-4 < found.suggestion < 1.0

ax = found.plot()
plt.show()

# %% [markdown]
# What to see: for α below about 10⁻⁴ nothing moves (the loss stays at
# ln 10 ≈ 2.3, a uniform guess over ten digits); the loss then falls, fastest
# at the suggestion, and explodes once α is too large. The grey curve is each
# mini-batch's own loss: noisy, as the course's mini-batch cost is.
#
# ## Training at the suggestion, a tenth of it, and ten times it
#
# Ten epochs of Adam from the same first weights at each α.

# %%
def train(learning_rate, epochs=10):
    model = network()
    model.compile(optimizer=keras_optims.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    return model.evaluate(x, y, batch_size=1024, verbose=0)


alpha = found.suggestion
results = {label: train(rate) for label, rate in (("α/10", alpha / 10), ("α", alpha), ("10·α", 10 * alpha))}
for label, (loss, accuracy) in results.items():
    print(f"{label:>5}: whole-data loss {loss:.4f}, accuracy {accuracy:.3f}")
assert results["α"][0] < results["α/10"][0] and results["α"][0] < results["10·α"][0]

# %% [markdown]
# A tenth of the suggestion learns too slowly to get as far in ten epochs;
# ten times it takes steps too large (the range test's curve was already
# rising there), and the loss ends above the suggestion's. The suggestion is where the course's search on a
# log scale starts, not where it ends.
#
# ## The batch size
#
# `sweep_batch_size` trains from the same start at B = 32, 64, … and B = m
# (batch gradient descent), times only the training batches (after a warm-up
# epoch), and reports how long each took to the lowest loss every size
# reached. First the digits, at the suggested α:

# %%
model = network()
model.compile(optimizer=keras_optims.Adam(alpha), loss="sparse_categorical_crossentropy")
small = sweep_batch_size(model, x, y, max_epochs=10, verbose=0)
print(small.table())
print(f"target J = {small.target_loss:.4f}; fastest: B = {small.fastest.batch_size}; B = m took "
      f"{small.rows[-1].seconds_to_target / small.fastest.seconds_to_target:.1f}× as long")
small.plot()
plt.show()

# %% [markdown]
# Then 16,384 examples of a synthetic ten-class problem with 64 features
# (scikit-learn's `make_classification`), where one step of batch gradient
# descent is a whole pass over the data:

# %%
x_large, y_large = make_classification(n_samples=16384, n_features=64, n_informative=32, n_classes=10,
                                       random_state=0)
x_large = x_large.astype("float32")
model = network()
model.compile(optimizer=keras_optims.Adam(alpha), loss="sparse_categorical_crossentropy")
large = sweep_batch_size(model, x_large, y_large, max_epochs=10, verbose=0)
print(large.table())
slower = large.rows[-1].seconds_to_target / large.fastest.seconds_to_target
print(f"fastest: B = {large.fastest.batch_size}; B = m took {slower:.1f}× as long")
assert large.fastest.batch_size < len(x_large) and slower > 2

# %% [markdown]
# What to see: on the large set mini-batches of a few hundred to a few
# thousand reach the target more than twice as soon as batch gradient descent,
# which takes one step per pass over the data — the course's advice. Compare
# the two "B = m took …× as long" lines: on a CPU a batch of 128 already keeps
# the vector units busy, so even on the small set batch gradient descent was
# not the fastest in the project's runs. Timings move from run to run on a
# shared machine; the guide ("Choosing α and the batch size") has measured
# tables with their setup.
