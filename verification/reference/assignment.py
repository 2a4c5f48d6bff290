"""The course's programming assignment "Optimization methods", in NumPy.

What the assignment's notebook does, written from its description:

    data        np.random.seed(3); sklearn.datasets.make_moons(n_samples=300, noise=0.2)
    network     2 → 5 → 2 → 1, ReLU, ReLU, sigmoid; np.random.seed(3), then for
                l = 1, 2, 3: W[l] = randn(n_l, n_{l−1})·√(2 / n_{l−1}), b[l] = 0
    batches     every epoch np.random.seed(seed) with seed = 11, 12, …, one
                permutation of the 300 examples, batches of 64 (the last one 44)
    cost        Σ over the epoch's batches of the per-example cross-entropy, each
                batch evaluated before its update, divided by m = 300;
                printed every 1000 epochs
    rates       α₀ in epoch 0; after epoch i, α = decay(α₀, i, decay_rate = 1)

Seeding the global NumPy generator and drawing from it is the same stream as
a `np.random.RandomState(seed)`: used here, so nothing global changes.
`train` runs the assignment with the reference network and optimizer steps.
"""

import numpy as np

from .minibatches import cut_mini_batches
from .network import Network
from .optimizers import adam_step, gd_step, momentum_step
from .schedules import assignment_rates

M, BATCH_SIZE, LAYER_DIMS = 300, 64, (2, 5, 2, 1)
DATA_SEED, WEIGHT_SEED, FIRST_BATCH_SEED = 3, 3, 11


def make_moons(n_samples=M, noise=0.2, seed=DATA_SEED):
    """scikit-learn's `make_moons(n_samples, noise)` after `np.random.seed(seed)`.

    Its steps: n_samples // 2 points on the upper half circle (cos t, sin t)
    and the rest on the lower one (1 − cos t, 1/2 − sin t), t evenly spaced
    over [0, π] on each; labels 0 (upper) and 1 (lower); the rows shuffled
    (one `shuffle` of 0 … n − 1); then Gaussian noise of standard deviation
    `noise` added to every coordinate. Returns X (n, 2) and y (n,), integers.
    """
    rng = np.random.RandomState(seed)
    n_upper, n_lower = n_samples // 2, n_samples - n_samples // 2
    t_upper, t_lower = np.linspace(0, np.pi, n_upper), np.linspace(0, np.pi, n_lower)
    X = np.vstack([
        np.append(np.cos(t_upper), 1 - np.cos(t_lower)),
        np.append(np.sin(t_upper), 1 - np.sin(t_lower) - 0.5),
    ]).T
    y = np.hstack([np.zeros(n_upper, dtype=np.intp), np.ones(n_lower, dtype=np.intp)])
    order = np.arange(n_samples)
    rng.shuffle(order)
    X, y = X[order], y[order]
    return X + rng.normal(scale=noise, size=X.shape), y


def load_dataset():
    """The assignment's training set in the course's layout: X (2, 300), Y (1, 300)."""
    X, y = make_moons()
    return X.T, y.reshape(1, -1).astype(np.float64)


def initialize_parameters(layer_dims=LAYER_DIMS, seed=WEIGHT_SEED):
    """He initialisation from one seeded stream, layer after layer."""
    rng = np.random.RandomState(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = rng.randn(layer_dims[l], layer_dims[l - 1]) * np.sqrt(2 / layer_dims[l - 1])
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


def random_mini_batches(X, Y, batch_size, seed):
    """One epoch's batches: a permutation drawn after seeding with `seed`,
    ⌊m / B⌋ full batches and the rest in a last one."""
    return cut_mini_batches(X, Y, batch_size, np.random.RandomState(seed).permutation(X.shape[1]))


def epochs_of_batches(X, Y, epochs, batch_size=BATCH_SIZE):
    """The batches of epochs 0 … epochs − 1 (seeds 11, 12, …)."""
    return [random_mini_batches(X, Y, batch_size, FIRST_BATCH_SEED + i) for i in range(epochs)]


STEPS = {
    "gd": (gd_step, 0, {}),
    "momentum": (momentum_step, 1, {"beta": 0.9}),
    "adam": (adam_step, 2, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
}


def train(optimizer, learning_rate, epochs, decay=None, print_every=1000, **decay_arguments):
    """Trains as the assignment does; returns (costs, parameters) with the
    printed cost of every `print_every`-th epoch.

    optimizer: "gd", "momentum" (β = 0.9) or "adam" (0.9, 0.999, 1e-8).
    decay: None, or one of the assignment's functions (`update_lr`,
    `schedule_lr_decay`), called with decay_rate = 1 and `decay_arguments`.
    """
    X, Y = load_dataset()
    network = Network(LAYER_DIMS, "relu", "sigmoid")
    parameters = initialize_parameters()
    step, slots, hyperparameters = STEPS[optimizer]
    state = {name: [np.zeros_like(value) for _ in range(slots)] for name, value in parameters.items()}
    rates = (
        assignment_rates(learning_rate, epochs, decay, decay_rate=1, **decay_arguments)
        if decay else [learning_rate] * epochs
    )
    costs, t = [], 0
    for epoch, batches in enumerate(epochs_of_batches(X, Y, epochs)):
        total = 0.0
        for Xb, Yb in batches:
            total += network.cost(Xb, Yb, parameters) * Xb.shape[1]
            gradients = network.gradients(Xb, Yb, parameters)
            t += 1
            for name in parameters:
                parameters[name], *state[name] = step(
                    parameters[name], gradients["d" + name], *state[name], t, lr=rates[epoch], **hyperparameters
                )
        if epoch % print_every == 0:
            costs.append(total / X.shape[1])
    return costs, parameters


def accuracy(parameters):
    """Training accuracy: the fraction of examples with (a > 0.5) = y."""
    X, Y = load_dataset()
    return float(np.mean(Network(LAYER_DIMS).predict(X, parameters) == Y))
