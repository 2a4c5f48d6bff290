"""Optimizer paths on a long valley, on Beale's function and on a saddle point.

    python examples/paths.py [--quick] [--out DIR]

The pictures at the end of the course notes: from the same start, gradient
descent, momentum, RMSProp and Adam (the real keras_optims optimizers, one
`optimizer.apply` per step on a 2-element Keras variable, gradients from
TensorFlow) walk over the contour lines of a surface. One PNG per surface,
with the loss per step beside the paths; an animated GIF of the valley when
Pillow is installed; and paths.json with each optimizer's final distance to
the surface's minimum.

The valley f(x, y) = 0.05·x² + 2·y² is 40 times steeper across than along.
Gradient descent and momentum take the same learning rate, 0.49, just under
the 0.5 at which gradient descent would no longer converge across the valley:
gradient descent zigzags across it while it creeps along it; momentum
averages the zigzag out, travels far less across the valley and ends lower
(docs/tutorials/valley.py measures both). RMSProp and Adam divide each
direction by its own gradient scale.
"""

import json

from _common import arguments, saved

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_optims  # noqa: E402


def valley(x, y):
    return 0.05 * x**2 + 2.0 * y**2


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def saddle(x, y):
    return x**2 - y**2


# name: (function, start, minimum or None, plot box, learning rates)
SURFACES = {
    "valley": (valley, (-9.0, 1.8), (0.0, 0.0), (-10, 2, -2.5, 2.5),
               {"GradientDescent": 0.49, "Momentum": 0.49, "RMSProp": 0.2, "Adam": 1.0}),
    "beale": (beale, (1.0, 1.6), (3.0, 0.5), (-0.5, 4.0, -1.0, 2.0),
              {"GradientDescent": 0.005, "Momentum": 0.02, "RMSProp": 0.02, "Adam": 0.05}),
    "saddle": (saddle, (-1.0, 1e-3), None, (-1.2, 1.2, -1.2, 1.2),
               {"GradientDescent": 0.05, "Momentum": 0.05, "RMSProp": 0.02, "Adam": 0.02}),
}
COLOURS = {"GradientDescent": "tab:red", "Momentum": "tab:blue", "RMSProp": "tab:green", "Adam": "tab:purple"}


def walk(function, start, optimizer, steps, box):
    """Positions and losses after each of `steps` updates (start included);
    stops early if the walk leaves twice the plotted box."""
    point = keras.Variable(np.array(start, dtype="float64"))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = function(point[0], point[1])
        optimizer.apply([tape.gradient(loss, point.value)], [point])
        return loss

    path, losses = [np.array(start)], [float(function(*start))]
    x0, x1, y0, y1 = box
    for _ in range(steps):
        step()
        x, y = point.numpy()
        path.append(np.array([x, y]))
        losses.append(float(function(x, y)))
        if not (2 * x0 - x1 <= x <= 2 * x1 - x0 and 2 * y0 - y1 <= y <= 2 * y1 - y0):
            break
    return np.array(path), np.array(losses)


def draw(name, function, box, paths, losses, minimum):
    x0, x1, y0, y1 = box
    X, Y = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    Z = function(X, Y)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1.6, 1]})
    if name == "beale":  # spans five decades: log-spaced levels on a log colour scale
        from matplotlib.colors import LogNorm

        left.contour(X, Y, Z, levels=np.logspace(-1, 3.5, 25), cmap="Greys", norm=LogNorm(1e-2, 1e4), linewidths=0.7)
    else:
        levels = np.unique(np.quantile(Z, np.linspace(0.01, 0.99, 25)))
        left.contour(X, Y, Z, levels=levels, cmap="Greys", linewidths=0.7)
    for optimizer, path in paths.items():
        left.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1.2, color=COLOURS[optimizer], label=optimizer)
    left.plot(*paths["GradientDescent"][0], "ko", ms=6)
    if minimum is not None:
        left.plot(*minimum, "k*", ms=12)
    left.set_xlim(x0, x1)
    left.set_ylim(y0, y1)
    left.set_title(f"{name}: paths from the same start")
    left.legend(loc="best", fontsize=8)
    for optimizer, loss in losses.items():
        right.plot(loss, color=COLOURS[optimizer], label=optimizer)
    if name != "saddle":
        right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("loss")
    right.set_title("loss per step")
    right.legend(fontsize=8)
    return figure


def animate(path_out, function, box, paths, minimum):
    """The valley's paths growing step by step (needs Pillow)."""
    try:
        from matplotlib.animation import FuncAnimation, PillowWriter
    except ImportError:
        return None
    try:
        import PIL  # noqa: F401
    except ImportError:
        return None
    x0, x1, y0, y1 = box
    X, Y = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    figure, axes = plt.subplots(figsize=(6, 3.2))
    axes.contour(X, Y, function(X, Y), levels=20, cmap="Greys", linewidths=0.6)
    if minimum is not None:
        axes.plot(*minimum, "k*", ms=10)
    lines = {name: axes.plot([], [], ".-", ms=2, lw=1, color=COLOURS[name], label=name)[0] for name in paths}
    axes.legend(loc="lower right", fontsize=6)
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)
    frames = max(len(p) for p in paths.values())

    def update(frame):
        for name, line in lines.items():
            line.set_data(paths[name][: frame + 1, 0], paths[name][: frame + 1, 1])
        return list(lines.values())

    FuncAnimation(figure, update, frames=frames, blit=True).save(path_out, writer=PillowWriter(fps=12), dpi=70)
    plt.close(figure)
    print(f"wrote {path_out}")
    return path_out


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    steps = 60 if args.quick else 200
    summary = {}
    for name, (function, start, minimum, box, rates) in SURFACES.items():
        paths, losses = {}, {}
        for optimizer, lr in rates.items():
            paths[optimizer], losses[optimizer] = walk(
                function, start, getattr(keras_optims, optimizer)(learning_rate=lr), steps, box
            )
        saved(draw(name, function, box, paths, losses, minimum), args.out / f"paths_{name}.png")
        summary[name] = {
            optimizer: {
                "steps": len(path) - 1,
                "final": path[-1].tolist(),
                "final_loss": float(losses[optimizer][-1]),
                "learning_rate": rates[optimizer],
                "travel_across": float(np.abs(np.diff(path[:, 1])).sum()),  # Σ|Δy|
                "distance_to_minimum": None if minimum is None else float(np.linalg.norm(path[-1] - minimum)),
            }
            for optimizer, path in paths.items()
        }
        if name == "valley":
            animate(args.out / "paths_valley.gif", function, box, paths, minimum)
    (args.out / "paths.json").write_text(json.dumps(summary, indent=2))
    print(f"{'surface':<8} " + " ".join(f"{o:>16}" for o in COLOURS))
    for name, rows in summary.items():
        cells = [rows[o]["distance_to_minimum"] if rows[o]["distance_to_minimum"] is not None else rows[o]["final_loss"]
                 for o in COLOURS]
        label = "dist" if SURFACES[name][2] is not None else "loss"
        print(f"{name:<8} " + " ".join(f"{c:>16.4g}" for c in cells) + f"   ({label} at the end)")


if __name__ == "__main__":
    main()
