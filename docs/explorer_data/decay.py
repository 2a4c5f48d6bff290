"""The decay panel: mini-batch descent at B = `BATCH` for `EPOCHS` epochs,
at each α₀ of `ALPHAS`, with each schedule of `SCHEDULES`
(`keras_optims.schedules`) at each of its values (the first of each is no
decay). Kept: the last `TAIL_EPOCHS` epochs at every step (the cloud around
the minimum), the point after every epoch, and the α of every epoch as
`LearningRateLogger` logs it. The grid (3 optimizers × 2 α₀ × 11 schedules)
takes about 20 s.
"""

import math

import numpy as np

from explorer_data import minibatch
from explorer_data.common import rounded
from explorer_data.problem import M, cost, dataset, fit, iterations_per_epoch, minimum, spread, surface

BATCH = 16
EPOCHS = 40
TAIL_EPOCHS = 3
# The zoom on the minimum: without decay the last epoch's cloud has a spread
# of 0.006 to 0.05 (α₀ = 0.05 and 0.1), well inside ±0.3.
ZOOM = 0.3
# The zoomed points' significant digits: near w = 2, four digits are steps
# of 0.001, a pixel of the zoom (0.6 wide in about 500 px) and coarser than
# a cloud that decay has shrunk; six are steps of 1e-5.
ZOOM_DIGITS = 6
ALPHAS = (0.05, 0.1)
OPTIMIZERS = minibatch.OPTIMIZERS
# Each schedule's argument and its values, the first being no decay.
SCHEDULES = {
    "InverseTimeEpochDecay": ("decay_rate", (0.0, 0.1, 0.3, 1.0, 3.0)),
    "ExponentialEpochDecay": ("rate", (1.0, 0.95, 0.9, 0.8, 0.7)),
    "InverseSqrtEpochDecay": ("k", (1.0,)),
}


def schedule(schedule_name, alpha0, value, steps_per_epoch):
    from keras_optims import schedules

    argument = SCHEDULES[schedule_name][0]
    return getattr(schedules, schedule_name)(alpha0, **{argument: value}, steps_per_epoch=steps_per_epoch)


def run_one(name, alpha0, schedule_name, value):
    """One decay setting, unrounded: {"wb": every step's point from the
    start of the last TAIL_EPOCHS epochs, "epochs": the start and the point
    after each epoch, "alpha": α of each epoch (LearningRateLogger)}."""
    import keras

    import keras_optims
    from keras_optims.callbacks import LearningRateLogger, TrajectoryRecorder

    per_epoch = iterations_per_epoch(BATCH)
    rate = schedule(schedule_name, alpha0, value, per_epoch)
    optimizer = getattr(keras_optims, name)(rate, **OPTIMIZERS[name])
    recorder, logger, history = TrajectoryRecorder(), LearningRateLogger(), keras.callbacks.History()
    fit(optimizer, BATCH, EPOCHS, [logger, recorder, history])
    kernel, bias = recorder.trajectories.values()
    path = np.column_stack([kernel.reshape(-1), bias.reshape(-1)])
    return {"wb": path[(EPOCHS - TAIL_EPOCHS) * per_epoch:], "epochs": path[::per_epoch],
            "alpha": np.array(history.history["learning_rate"])}


def key(name, alpha0, schedule_name, value):
    """The page's name for a setting, e.g. ``GradientDescent|0.1|InverseTimeEpochDecay|0.3``."""
    return f"{name}|{alpha0:g}|{schedule_name}|{value:g}"


def zoom_box():
    """The decay panel's box: ZOOM on either side of the minimum."""
    w_star, b_star = minimum(*dataset())
    return tuple(round(v, 4) for v in (w_star - ZOOM, w_star + ZOOM, b_star - ZOOM, b_star + ZOOM))


def panel():
    """The decay panel's data, rounded for the page."""
    x, y = dataset()
    per_epoch = iterations_per_epoch(BATCH)
    data = {"m": M, "batch_size": BATCH, "epochs": EPOCHS, "tail_epochs": TAIL_EPOCHS,
            "iterations_per_epoch": per_epoch, "alphas": list(ALPHAS), "optimizers": list(OPTIMIZERS),
            "schedules": {k: {"argument": a, "values": list(v)} for k, (a, v) in SCHEDULES.items()},
            # The run without decay that every setting is compared with.
            "baseline": {"schedule": "InverseTimeEpochDecay", "value": 0.0},
            "surface": surface(zoom_box()), "runs": {}}
    w_star, b_star = minimum(x, y)
    for name in OPTIMIZERS:
        for alpha0 in ALPHAS:
            for schedule_name, (_, values) in SCHEDULES.items():
                for value in values:
                    run = run_one(name, alpha0, schedule_name, value)
                    last = run["wb"][-per_epoch:]
                    centre = last.mean(axis=0)
                    data["runs"][key(name, alpha0, schedule_name, value)] = {
                        "wb": rounded(run["wb"], ZOOM_DIGITS), "epochs": rounded(run["epochs"]),
                        "alpha": rounded(run["alpha"]),
                        "spread": rounded(spread(last)),
                        "off_minimum": rounded(math.hypot(centre[0] - w_star, centre[1] - b_star)),
                        "final_cost": rounded(cost(*run["wb"][-1], x, y)),
                    }
    return data
