"""The training panels' problem: linear regression on one feature, a
`Dense(1)` with a weight w and a bias b, so that the cost over the whole data
set, J(w, b) = (1/m)·Σ (w·x + b − y)², is a bowl that can be drawn as
contours. The m = `M` examples are seeded (x uniform on [0, 2], y = 2x − 1
plus noise of standard deviation 0.5): x is not centred, so J's valley is
long and tilted (its Hessian's eigenvalues are about 0.3 and 4.4), the
course's picture of a valley.

Every run is seeded the same (`SEED`), so at one batch size every optimizer
sees the same mini-batches. Computed in float64 (`ExactDense` and a squared
error written with `ops.sum`, which keep float64 on every backend), so that
`tests/test_explorer.py` can hold sampled settings to the NumPy reference,
mini-batch by mini-batch, with the batches Keras's `fit` cut.
"""

import math

import numpy as np

from explorer_data.common import grid, rounded

M = 256
SEED = 1
START = (-1.0, 2.0)  # (w, b): across the valley from its minimum near (2, −1)
# The plotted box of (w, b) and the contours' grid over it.
BOX = (-1.5, 3.5, -2.5, 2.5)
CONTOUR_GRID = 40


def dataset():
    """x (m,), y (m,): the seeded examples."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 2.0, M)
    return x, 2.0 * x - 1.0 + 0.5 * rng.standard_normal(M)


def cost(w, b, x, y):
    """J(w, b) over the whole data set (w, b scalars or arrays of one shape)."""
    w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.mean((w[..., None] * x + b[..., None] - y) ** 2, axis=-1)


def minimum(x, y):
    """(w*, b*): the least-squares line, J's minimum."""
    w, b = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)[0]
    return float(w), float(b)


def iterations_per_epoch(batch_size):
    return math.ceil(M / batch_size)


def _squared_error():
    import keras

    class SquaredError(keras.losses.Loss):
        """(1/B)·Σ (ŷ − y)² over the mini-batch, in the inputs' dtype
        (Keras's `mse` goes through `ops.mean`, float32 under JAX and
        PyTorch)."""

        def __init__(self):
            super().__init__(reduction="sum", name="squared_error")

        def call(self, y, a):
            ops = keras.ops
            return ops.sum(ops.square(a - y), axis=-1) / ops.cast(ops.shape(y)[0], a.dtype)

    return SquaredError()


def model(optimizer, model_layers=()):
    """The compiled model at (w, b) = START, seeded by SEED, and its inputs
    and targets; call inside `floatx("float64")`. `model_layers` go before
    the Dense (the tests' probe of which examples each batch holds: then the
    example's number rides along as a second column of the inputs)."""
    import keras

    from keras_optims.verification.training import ExactDense

    x, y = dataset()
    keras.utils.set_random_seed(SEED)
    inputs = np.column_stack([x, np.arange(M, dtype=np.float64)]) if model_layers else x[:, None]
    compiled = keras.Sequential([keras.Input((inputs.shape[1],), dtype="float64"), *model_layers,
                                 ExactDense(1, dtype="float64")])
    compiled.set_weights([np.array([[START[0]]]), np.array([START[1]])])
    compiled.compile(optimizer=optimizer, loss=_squared_error(), run_eagerly=bool(model_layers))
    return compiled, inputs, y[:, None]


def fit(optimizer, batch_size, epochs, callbacks=(), model_layers=()):
    """Trains (w, b) from START by Keras's `fit` with shuffling, seeded by
    SEED; returns the model."""
    from keras_optims.verification.training import floatx

    with floatx("float64"):
        trained, inputs, targets = model(optimizer, model_layers)
        trained.fit(inputs, targets, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0,
                    callbacks=list(callbacks))
    return trained


def spread(points):
    """The root-mean-square distance of `points` from their centre."""
    points = np.asarray(points, dtype=np.float64)
    return float(np.sqrt(np.mean(np.sum((points - points.mean(axis=0)) ** 2, axis=1))))


def wander(path):
    """How far a path went against the straight line from its start to its
    end: its length over that line's (1 for a straight path)."""
    length = np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1))
    line = np.linalg.norm(path[-1] - path[0])
    return float(length / line) if line > 0 else float("inf")


def surface(box=BOX):
    """J over `box` on a CONTOUR_GRID × CONTOUR_GRID grid (row i: b, column
    j: w), with the start, the minimum and J there (the floor)."""
    x, y = dataset()
    w_star, b_star = minimum(x, y)
    return {"box": list(box), "start": list(START), "minimum": [round(w_star, 4), round(b_star, 4)],
            "floor": rounded(cost(w_star, b_star, x, y)),
            "grid": rounded(grid(lambda W, B: cost(W, B, x, y), box, CONTOUR_GRID))}
