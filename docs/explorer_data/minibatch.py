"""The mini-batch panel: each optimizer of `OPTIMIZERS`, at each α of
`ALPHAS` and each batch size B of `BATCH_SIZES`, trained by
`model.fit(x, y, batch_size=B, shuffle=True)` for `ITERATIONS` mini-batch
steps (T/⌈m/B⌉ epochs: 1 at B = 1, 256 at B = m), from (w, b) = `START`
(`problem`). `TrajectoryRecorder` records (w, b) after every step; the
`EWMA` callback gives each mini-batch's cost and its bias-corrected average
(β = 0.9).

Why these sizes: m = 256 is "a few hundred", and T = m makes every batch
size run whole epochs (one epoch of stochastic descent is T steps of one
example). With 4 significant digits a setting is about 7 kB, so the grid
(3 optimizers × 5 α × 5 batch sizes) stays near 0.5 MB, and its 75 fits of a
two-parameter model take about 25 s on one core.
"""

import numpy as np

from explorer_data.common import finite_prefix, rounded
from explorer_data.problem import BOX, M, cost, dataset, fit, iterations_per_epoch, surface, wander

ITERATIONS = M
BATCH_SIZES = (1, 4, 16, 64, M)
# Stable for batch descent up to 2/4.4 ≈ 0.45; at 0.2 stochastic descent
# (one example's curvature, up to 2·(x² + 1) = 10) is past its own limit
# and wanders widely.
ALPHAS = (0.01, 0.02, 0.05, 0.1, 0.2)
OPTIMIZERS = {"GradientDescent": {}, "Momentum": {"beta": 0.9}, "Adam": {}}
EWMA_BETA = 0.9  # the course's: roughly the last 10 mini-batches

def run_one(name, learning_rate, batch_size):
    """One mini-batch setting, unrounded: {"wb": (T + 1, 2) points (shorter
    where it ran away), "cost": each mini-batch's cost, "ewma": its
    bias-corrected average}."""
    import keras_optims
    from keras_optims.callbacks import EWMA, TrajectoryRecorder

    optimizer = getattr(keras_optims, name)(learning_rate, **OPTIMIZERS[name])
    recorder, ewma = TrajectoryRecorder(), EWMA("loss", beta=EWMA_BETA)
    fit(optimizer, batch_size, ITERATIONS // iterations_per_epoch(batch_size), [ewma, recorder])
    kernel, bias = recorder.trajectories.values()
    path = finite_prefix(np.column_stack([kernel.reshape(-1), bias.reshape(-1)]), BOX)
    steps = len(path) - 1
    return {"wb": path, "cost": np.array(ewma.history["batch_loss"][:steps]),
            "ewma": np.array(ewma.history["ewma_loss"][:steps])}


def key(name, learning_rate, batch_size):
    """The page's name for a setting, e.g. ``Adam|0.05|16``."""
    return f"{name}|{learning_rate:g}|{batch_size}"


def panel():
    """The mini-batch panel's data, rounded for the page."""
    x, y = dataset()
    data = {"m": M, "iterations": ITERATIONS, "batch_sizes": list(BATCH_SIZES),
            "alphas": list(ALPHAS), "optimizers": list(OPTIMIZERS),
            "ewma_beta": EWMA_BETA, "surface": surface(), "runs": {}}
    for name in OPTIMIZERS:
        for alpha in ALPHAS:
            for batch_size in BATCH_SIZES:
                run = run_one(name, alpha, batch_size)
                path = run["wb"]
                ran_away = len(path) <= ITERATIONS
                data["runs"][key(name, alpha, batch_size)] = {
                    "wb": rounded(path), "cost": rounded(run["cost"]), "ewma": rounded(run["ewma"]),
                    # The step-to-step spread of the mini-batch cost: the noise.
                    "jitter": rounded(np.std(np.diff(run["cost"]))) if len(run["cost"]) > 1 else None,
                    "final_cost": None if ran_away else rounded(cost(*path[-1], x, y)),
                    "wander": None if ran_away else rounded(wander(path)),
                }
    return data
