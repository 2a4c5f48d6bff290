"""The paths panel: from the gallery's start on each surface of `SURFACES`
(the long valley 0.05·x² + 2·y², Beale's function, the saddle x² − y²), the
real `keras_optims` optimizers, one `optimizer.apply` per step, at each α of
`ALPHAS` and each β (β₁, β₂, bias correction) of `SETTINGS`. The optimizers'
rules are element-wise, so one 3 × 2 variable carries the three surfaces'
points at once (row k: surface k), exactly as three separate runs would.
Gradients are each surface's derivative, written by hand below. A path that
leaves twice its surface's box stops there."""

import itertools

import numpy as np

from explorer_data.common import grid, inside, rounded

STEPS = 60
# A log grid in 1-2-5 steps: each surface's useful rates are in it (Beale's
# 0.005–0.05, the valley's 0.2–1), and at 0.5 gradient descent bounces
# across the valley for ever (1 − 4α = −1), the course's picture.
ALPHAS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
# Per optimizer: its arguments besides α, each with the values offered.
SETTINGS = {
    "GradientDescent": {},
    "Momentum": {"beta": (0.5, 0.9, 0.98), "bias_correction": (False, True)},
    "RMSProp": {"beta": (0.9, 0.999)},
    "Adam": {"beta_1": (0.5, 0.9), "beta_2": (0.99, 0.999)},
}


def valley(x, y):
    return 0.05 * x**2 + 2.0 * y**2


def valley_gradient(x, y):
    return 0.1 * x, 4.0 * y


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def beale_gradient(x, y):
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    dx = 2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1)
    dy = 2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y**2
    return dx, dy


def saddle(x, y):
    return x**2 - y**2


def saddle_gradient(x, y):
    return 2 * x, -2 * y


# name: (function, gradient, start, minimum or None, plot box x0, x1, y0, y1) — the gallery's.
SURFACES = {
    "valley": (valley, valley_gradient, (-9.0, 1.8), (0.0, 0.0), (-10.0, 2.0, -2.5, 2.5)),
    "beale": (beale, beale_gradient, (1.0, 1.6), (3.0, 0.5), (-0.5, 4.0, -1.0, 2.0)),
    "saddle": (saddle, saddle_gradient, (-1.0, 1e-3), None, (-1.2, 1.2, -1.2, 1.2)),
}
GRID = 48  # loss samples per side of each surface's box, for the shading


def gradients(W):
    """The gradient of each surface at its row of W (3 × 2)."""
    return np.array([SURFACES[name][1](*W[k]) for k, name in enumerate(SURFACES)], dtype=np.float64)


def configurations():
    """(optimizer name, keyword arguments) for every setting the page offers."""
    for name, settings in SETTINGS.items():
        keys = list(settings)
        for alpha in ALPHAS:
            for values in itertools.product(*(settings[k] for k in keys)):
                yield name, {"learning_rate": alpha, **dict(zip(keys, values))}


def key(name, kwargs):
    """The page's name for a setting, e.g. ``Momentum|0.5|beta=0.9|bias_correction=1``."""
    parts = [name, f"{kwargs['learning_rate']:g}"]
    parts += [f"{k}={int(v) if isinstance(v, bool) else format(v, 'g')}"
              for k, v in kwargs.items() if k != "learning_rate"]
    return "|".join(parts)


def walk(name, kwargs, steps=STEPS):
    """The three surfaces' paths under one optimizer: {surface: array of
    points (start, then one per step; shorter where it left its box)},
    unrounded. Each step is one `optimizer.apply` on a 3 × 2 variable."""
    import keras

    import keras_optims

    optimizer = getattr(keras_optims, name)(**kwargs)
    start = np.array([s[2] for s in SURFACES.values()], dtype=np.float64)
    point = keras.Variable(start, dtype="float64")
    W = start.copy()
    paths = [[W[k].copy()] for k in range(len(SURFACES))]
    left = [False] * len(SURFACES)
    for _ in range(steps):
        # A surface that has left its box takes zero gradients from then on
        # (its path is no longer recorded): the others are not disturbed.
        # Its gradient is evaluated at the origin, then zeroed, so that a
        # point that ran away does not overflow the evaluation.
        stopped = np.array(left)
        g = gradients(np.where(stopped[:, None], 0.0, W))
        g[stopped] = 0.0
        optimizer.apply([keras.ops.convert_to_tensor(g)], [point])
        W = np.asarray(keras.ops.convert_to_numpy(point.value), dtype=np.float64)
        for k, (surface, spec) in enumerate(SURFACES.items()):
            if left[k]:
                continue
            if not np.all(np.isfinite(W[k])):
                left[k] = True
                continue
            paths[k].append(W[k].copy())
            left[k] = not inside(W[k], spec[4])
    return {surface: np.array(paths[k]) for k, surface in enumerate(SURFACES)}


def panel(steps=STEPS):
    """The paths panel's data: each surface, and every optimizer's path on it
    at every setting of the grid."""
    data = {
        "steps": steps,
        "alphas": list(ALPHAS),
        "settings": {name: {k: [int(v) if isinstance(v, bool) else v for v in values] for k, values in s.items()}
                     for name, s in SETTINGS.items()},
        "surfaces": {},
        "paths": {},
    }
    for surface, (function, _, start, minimum, box) in SURFACES.items():
        data["surfaces"][surface] = {"box": list(box), "start": list(start), "minimum": minimum and list(minimum),
                                     "grid": rounded(grid(function, box, GRID))}
    for name, kwargs in configurations():
        for surface, path in walk(name, kwargs, steps).items():
            function = SURFACES[surface][0]
            losses = function(path[:, 0], path[:, 1])
            data["paths"].setdefault(surface, {})[key(name, kwargs)] = {"xy": rounded(path), "loss": rounded(losses)}
    return data
