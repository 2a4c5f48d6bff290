"""What every panel's generator shares: how values are rounded for the
page, the one grid a loss is sampled on, and where a path stops."""

import numpy as np

DIGITS = 4


def rounded(values, digits=DIGITS):
    """`values` (an array) as nested lists of floats with `digits` significant digits."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:
        return float(f"{float(values):.{digits}g}")
    return [rounded(v, digits) for v in values]


def grid(function, box, n):
    """function(X, Y) on an n × n grid over `box` = (x0, x1, y0, y1): row i
    is y, column j is x."""
    x0, x1, y0, y1 = box
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return function(X, Y)


def inside(point, box, margin=2.0):
    """Whether `point` is within `margin` times its box (about its centre)."""
    x0, x1, y0, y1 = box
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    return abs(point[0] - cx) <= margin * hx and abs(point[1] - cy) <= margin * hy


def finite_prefix(path, box, margin=2.0):
    """`path` up to its first point that is not finite or that has left
    `margin` times the box (that point kept, if finite): a run that diverges
    is drawn to the edge and said to run away."""
    for k, point in enumerate(path):
        if not np.all(np.isfinite(point)):
            return path[:k]
        if not inside(point, box, margin):
            return path[: k + 1]
    return path
