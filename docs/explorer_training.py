"""The Explorer's training panels, computed by `model.fit`: mini-batch
gradient descent, and learning-rate decay per epoch.

One problem serves both: linear regression on one feature, a `Dense(1)`
with a weight w and a bias b, so that the cost over the whole data set,
J(w, b) = (1/m)·Σ (w·x + b − y)², is a bowl that can be drawn as contours.
The m = `M` examples are seeded (x uniform on [0, 2], y = 2x − 1 plus noise
of standard deviation 0.5): x is not centred, so J's valley is long and
tilted (its Hessian's eigenvalues are about 0.3 and 4.4), the course's
picture of a valley.

- **Mini-batches**: each optimizer of `MINIBATCH_OPTIMIZERS`, at each α of
  `MINIBATCH_ALPHAS` and each batch size B of `BATCH_SIZES`, trained by
  `model.fit(x, y, batch_size=B, shuffle=True)` for `ITERATIONS` mini-batch
  steps (T/⌈m/B⌉ epochs: 1 at B = 1, 256 at B = m), from (w, b) = `START`.
  `TrajectoryRecorder` records (w, b) after every step; the `EWMA` callback
  gives each mini-batch's cost and its bias-corrected average (β = 0.9).
- **Decay**: mini-batch descent at B = `DECAY_BATCH` for `DECAY_EPOCHS`
  epochs, at each α₀ of `DECAY_ALPHAS`, with each schedule of
  `DECAY_SCHEDULES` (`keras_optims.schedules`) at each of its values (the
  first of each is no decay). Kept: the last `TAIL_EPOCHS` epochs at every
  step (the cloud around the minimum), the point after every epoch, and
  the α of every epoch as `LearningRateLogger` logs it.

Why these sizes: m = 256 is "a few hundred", and T = m makes every batch
size run whole epochs (one epoch of stochastic descent is T steps of one
example). With 4 significant digits a mini-batch setting is about 7 kB,
so the grid (3 optimizers × 5 α × 5 batch sizes) stays near 0.5 MB, and
its 75 fits of a two-parameter model take about 25 s on one core; the decay
grid (3 optimizers × 2 α₀ × 11 schedules) about 20 s more. The docs build
runs this beside the tutorials (under 3 minutes in all on 2 cores).

Every run is seeded the same (`SEED`), so at one batch size every optimizer
sees the same mini-batches. Computed in float64 (`ExactDense` and a squared
error written with `ops.sum`, which keep float64 on every backend), so that
`tests/test_explorer.py` can hold sampled settings to the NumPy reference,
mini-batch by mini-batch, with the batches Keras's `fit` cut.
"""

import math

import numpy as np

M = 256
ITERATIONS = M
SEED = 1
START = (-1.0, 2.0)  # (w, b): across the valley from its minimum near (2, −1)
# The plotted box of (w, b) and the contours' grid over it.
BOX = (-1.5, 3.5, -2.5, 2.5)
CONTOUR_GRID = 40
BATCH_SIZES = (1, 4, 16, 64, M)
# Stable for batch descent up to 2/4.4 ≈ 0.45; at 0.2 stochastic descent
# (one example's curvature, up to 2·(x² + 1) = 10) is past its own limit
# and wanders widely.
MINIBATCH_ALPHAS = (0.01, 0.02, 0.05, 0.1, 0.2)
MINIBATCH_OPTIMIZERS = {"GradientDescent": {}, "Momentum": {"beta": 0.9}, "Adam": {}}
EWMA_BETA = 0.9  # the course's: roughly the last 10 mini-batches

DECAY_BATCH = 16
DECAY_EPOCHS = 40
TAIL_EPOCHS = 3
# The zoom on the minimum: without decay the last epoch's cloud has a spread
# of 0.006 to 0.05 (α₀ = 0.05 and 0.1), well inside ±0.3.
ZOOM = 0.3
# The zoomed points' significant digits: near w = 2, four digits are steps
# of 0.001, a pixel of the zoom (0.6 wide in about 500 px) and coarser than
# a cloud that decay has shrunk; six are steps of 1e-5.
ZOOM_DIGITS = 6
DECAY_ALPHAS = (0.05, 0.1)
DECAY_OPTIMIZERS = MINIBATCH_OPTIMIZERS
# Each schedule's argument and its values, the first being no decay.
DECAY_SCHEDULES = {
    "InverseTimeEpochDecay": ("decay_rate", (0.0, 0.1, 0.3, 1.0, 3.0)),
    "ExponentialEpochDecay": ("rate", (1.0, 0.95, 0.9, 0.8, 0.7)),
    "InverseSqrtEpochDecay": ("k", (1.0,)),
}


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


def fit(optimizer, batch_size, epochs, callbacks=(), model_layers=()):
    """Trains (w, b) from START by Keras's `fit` with shuffling, seeded by
    SEED; returns the model. `model_layers` go before the Dense (the tests'
    probe of which examples each batch holds)."""
    import keras

    from keras_optims.verification.training import ExactDense, floatx

    x, y = dataset()
    with floatx("float64"):
        keras.utils.set_random_seed(SEED)
        inputs = x[:, None]
        if model_layers:  # the example's number rides along as a second column
            inputs = np.column_stack([x, np.arange(M, dtype=np.float64)])
        model = keras.Sequential([keras.Input((inputs.shape[1],), dtype="float64"), *model_layers,
                                  ExactDense(1, dtype="float64")])
        model.set_weights([np.array([[START[0]]]), np.array([START[1]])])
        model.compile(optimizer=optimizer, loss=_squared_error(), run_eagerly=bool(model_layers))
        model.fit(inputs, y[:, None], batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0,
                  callbacks=list(callbacks))
    return model


def finite_prefix(path, box=BOX, margin=2.0):
    """`path` up to its first point that is not finite or that has left
    `margin` times the box (that point kept, if finite): a run that diverges
    is drawn to the edge and said to run away."""
    x0, x1, y0, y1 = box
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    for k, (w, b) in enumerate(path):
        if not (np.isfinite(w) and np.isfinite(b)):
            return path[:k]
        if abs(w - cx) > margin * hx or abs(b - cy) > margin * hy:
            return path[: k + 1]
    return path


def minibatch_run(name, learning_rate, batch_size):
    """One mini-batch setting, unrounded: {"wb": (T + 1, 2) points (shorter
    where it ran away), "cost": each mini-batch's cost, "ewma": its
    bias-corrected average}."""
    import keras_optims
    from keras_optims.callbacks import EWMA, TrajectoryRecorder

    optimizer = getattr(keras_optims, name)(learning_rate, **MINIBATCH_OPTIMIZERS[name])
    recorder, ewma = TrajectoryRecorder(), EWMA("loss", beta=EWMA_BETA)
    fit(optimizer, batch_size, ITERATIONS // iterations_per_epoch(batch_size), [ewma, recorder])
    kernel, bias = recorder.trajectories.values()
    path = finite_prefix(np.column_stack([kernel.reshape(-1), bias.reshape(-1)]))
    steps = len(path) - 1
    return {"wb": path, "cost": np.array(ewma.history["batch_loss"][:steps]),
            "ewma": np.array(ewma.history["ewma_loss"][:steps])}


def schedule(schedule_name, alpha0, value, steps_per_epoch):
    from keras_optims import schedules

    argument = DECAY_SCHEDULES[schedule_name][0]
    return getattr(schedules, schedule_name)(alpha0, **{argument: value}, steps_per_epoch=steps_per_epoch)


def decay_run(name, alpha0, schedule_name, value):
    """One decay setting, unrounded: {"wb": every step's point from the
    start of the last TAIL_EPOCHS epochs, "epochs": the start and the point
    after each epoch, "alpha": α of each epoch (LearningRateLogger)}."""
    import keras

    import keras_optims
    from keras_optims.callbacks import LearningRateLogger, TrajectoryRecorder

    per_epoch = iterations_per_epoch(DECAY_BATCH)
    rate = schedule(schedule_name, alpha0, value, per_epoch)
    optimizer = getattr(keras_optims, name)(rate, **DECAY_OPTIMIZERS[name])
    recorder, logger, history = TrajectoryRecorder(), LearningRateLogger(), keras.callbacks.History()
    fit(optimizer, DECAY_BATCH, DECAY_EPOCHS, [logger, recorder, history])
    kernel, bias = recorder.trajectories.values()
    path = np.column_stack([kernel.reshape(-1), bias.reshape(-1)])
    return {"wb": path[(DECAY_EPOCHS - TAIL_EPOCHS) * per_epoch:], "epochs": path[::per_epoch],
            "alpha": np.array(history.history["learning_rate"])}


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


def minibatch_key(name, learning_rate, batch_size):
    """The page's name for a setting, e.g. ``Adam|0.05|16``."""
    return f"{name}|{learning_rate:g}|{batch_size}"


def decay_key(name, alpha0, schedule_name, value):
    """The page's name for a setting, e.g. ``GradientDescent|0.1|InverseTimeEpochDecay|0.3``."""
    return f"{name}|{alpha0:g}|{schedule_name}|{value:g}"


def zoom_box():
    """The decay panel's box: ZOOM on either side of the minimum."""
    w_star, b_star = minimum(*dataset())
    return tuple(round(v, 4) for v in (w_star - ZOOM, w_star + ZOOM, b_star - ZOOM, b_star + ZOOM))


def surface(rounded, box=BOX):
    """J over `box` on a CONTOUR_GRID × CONTOUR_GRID grid (row i: b, column
    j: w), with the start, the minimum and J there (the floor)."""
    x, y = dataset()
    x0, x1, y0, y1 = box
    W, B = np.meshgrid(np.linspace(x0, x1, CONTOUR_GRID), np.linspace(y0, y1, CONTOUR_GRID))
    w_star, b_star = minimum(x, y)
    return {"box": list(box), "start": list(START), "minimum": [round(w_star, 4), round(b_star, 4)],
            "floor": rounded(cost(w_star, b_star, x, y)), "grid": rounded(cost(W, B, x, y))}


def minibatch_panel(rounded):
    """The mini-batch panel's data, rounded for the page."""
    x, y = dataset()
    data = {"m": M, "iterations": ITERATIONS, "batch_sizes": list(BATCH_SIZES),
            "alphas": list(MINIBATCH_ALPHAS), "optimizers": list(MINIBATCH_OPTIMIZERS),
            "ewma_beta": EWMA_BETA, "surface": surface(rounded), "runs": {}}
    for name in MINIBATCH_OPTIMIZERS:
        for alpha in MINIBATCH_ALPHAS:
            for batch_size in BATCH_SIZES:
                run = minibatch_run(name, alpha, batch_size)
                path = run["wb"]
                ran_away = len(path) <= ITERATIONS
                data["runs"][minibatch_key(name, alpha, batch_size)] = {
                    "wb": rounded(path), "cost": rounded(run["cost"]), "ewma": rounded(run["ewma"]),
                    # The step-to-step spread of the mini-batch cost: the noise.
                    "jitter": rounded(np.std(np.diff(run["cost"]))) if len(run["cost"]) > 1 else None,
                    "final_cost": None if ran_away else rounded(cost(*path[-1], x, y)),
                    "wander": None if ran_away else rounded(wander(path)),
                }
    return data


def decay_panel(rounded):
    """The decay panel's data, rounded for the page."""
    x, y = dataset()
    per_epoch = iterations_per_epoch(DECAY_BATCH)
    data = {"m": M, "batch_size": DECAY_BATCH, "epochs": DECAY_EPOCHS, "tail_epochs": TAIL_EPOCHS,
            "iterations_per_epoch": per_epoch, "alphas": list(DECAY_ALPHAS), "optimizers": list(DECAY_OPTIMIZERS),
            "schedules": {k: {"argument": a, "values": list(v)} for k, (a, v) in DECAY_SCHEDULES.items()},
            # The run without decay that every setting is compared with.
            "baseline": {"schedule": "InverseTimeEpochDecay", "value": 0.0},
            "surface": surface(rounded, zoom_box()), "runs": {}}
    w_star, b_star = minimum(x, y)
    for name in DECAY_OPTIMIZERS:
        for alpha0 in DECAY_ALPHAS:
            for schedule_name, (_, values) in DECAY_SCHEDULES.items():
                for value in values:
                    run = decay_run(name, alpha0, schedule_name, value)
                    last = run["wb"][-per_epoch:]
                    centre = last.mean(axis=0)
                    data["runs"][decay_key(name, alpha0, schedule_name, value)] = {
                        "wb": rounded(run["wb"], ZOOM_DIGITS), "epochs": rounded(run["epochs"]),
                        "alpha": rounded(run["alpha"]),
                        "spread": rounded(spread(last)),
                        "off_minimum": rounded(math.hypot(centre[0] - w_star, centre[1] - b_star)),
                        "final_cost": rounded(cost(*run["wb"][-1], x, y)),
                    }
    return data
