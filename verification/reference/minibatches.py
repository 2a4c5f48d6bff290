"""Mini-batches as the course cuts them.

Shuffle the m examples once per epoch (a permutation: without replacement),
cut ⌊m / B⌋ full batches of B examples and, if m mod B ≠ 0, one last batch of
the m mod B remaining ones. B = m is batch gradient descent; B = 1 with
shuffling is stochastic gradient descent.
"""

import numpy as np


def random_mini_batches(X, Y, batch_size, seed=0):
    """Returns [(X_t, Y_t), …] for one epoch; examples are the columns.

    X: (n_x, m); Y: (n_y, m). `seed` fixes the permutation (use a different
    seed for each epoch).
    """
    return cut_mini_batches(X, Y, batch_size, np.random.default_rng(seed).permutation(np.asarray(X).shape[1]))


def cut_mini_batches(X, Y, batch_size, permutation):
    """The examples in the order `permutation` gives, cut into ⌊m / B⌋ full
    batches and one last batch of the m mod B others, if any."""
    X, Y = np.asarray(X), np.asarray(Y)
    m = X.shape[1]
    if Y.shape[1] != m:
        raise ValueError(f"X has {m} examples but Y has {Y.shape[1]}")
    if not 1 <= batch_size <= m:
        raise ValueError(f"batch_size must be in [1, {m}], not {batch_size}")
    X, Y = X[:, permutation], Y[:, permutation]
    return [(X[:, k : k + batch_size], Y[:, k : k + batch_size]) for k in range(0, m, batch_size)]
