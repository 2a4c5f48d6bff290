"""Mini-batch gradient descent from B = 1 to B = m, and decay that settles it.

    python examples/minibatch.py [--quick] [--out DIR]

The Explorer's training runs (the docs/explorer_data package: a Dense(1) fitted
to 256 noisy points by `model.fit(..., shuffle=True)`, each point recorded
by `TrajectoryRecorder`, each mini-batch's cost by the `EWMA` callback, each
epoch's α by `LearningRateLogger`), drawn as two still pictures:

- minibatch.png: gradient descent at α = 0.05 with B = 1, 16, 64 and m, 256
  iterations each, on the contours of the whole-data cost; beside it each
  mini-batch's cost and its average (β = 0.9);
- minibatch.json: the numbers printed, for the tests.
- decay.png: the last 3 of 40 epochs at B = 16 and α₀ = 0.1, without decay
  and with inverse-time decay (decay_rate = 0.1), zoomed on the minimum;
  beside it α per epoch.

The runs take a few seconds; --quick changes nothing (there is nothing to
shorten).
"""

import json
import sys
from pathlib import Path

from _common import arguments, saved

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))  # the docs package explorer_data
from explorer_data import decay, minibatch, problem  # noqa: E402

ALPHA = 0.05
SIZES = (1, 16, 64, problem.M)
COLOURS = ("#c62828", "#ef6c00", "#2e7d32", "#1565c0")
DECAY = (("no decay", "InverseTimeEpochDecay", 0.0, "#9e9e9e"),
         ("inverse-time decay, decay_rate = 0.1", "InverseTimeEpochDecay", 0.1, "#c62828"))


def contours(axes, box, levels):
    x, y = problem.dataset()
    w0, w1, b0, b1 = box
    W, B = np.meshgrid(np.linspace(w0, w1, 200), np.linspace(b0, b1, 200))
    J = problem.cost(W, B, x, y)
    axes.contourf(W, B, np.log10(J - J.min() + 1e-4), levels=levels, cmap="Blues_r", alpha=0.55)
    w_star, b_star = problem.minimum(x, y)
    axes.plot([w_star], [b_star], "k*", ms=12, zorder=5)
    axes.set_xlim(w0, w1)
    axes.set_ylim(b0, b1)
    axes.set_xlabel("weight w")
    axes.set_ylabel("bias b")


def minibatch_picture(out, results):
    figure, (paths, costs) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.1, 1]})
    contours(paths, problem.BOX, 14)
    for size, colour in zip(SIZES, COLOURS):
        run = minibatch.run_one("GradientDescent", ALPHA, size)
        label = {1: "B = 1 (stochastic)", problem.M: f"B = m = {problem.M} (batch)"}.get(size, f"B = {size}")
        paths.plot(run["wb"][:, 0], run["wb"][:, 1], color=colour, lw=1.1, label=label)
        t = np.arange(1, len(run["cost"]) + 1)
        costs.plot(t, run["cost"], color=colour, lw=0.6, alpha=0.35)
        costs.plot(t, run["ewma"], color=colour, lw=1.6, label=f"{label}: average, β = 0.9")
        results[f"B={size}"] = row = {
            "cost": float(problem.cost(*run["wb"][-1], *problem.dataset())), "wander": problem.wander(run["wb"]),
            "jitter": float(np.std(np.diff(run["cost"])))}
        print(f"B = {size:>3}: whole-data cost after {len(t)} iterations {row['cost']:.4f}, path / straight line "
              f"{row['wander']:.2f}, cost's step-to-step spread {row['jitter']:.3f}")
    paths.plot(*problem.START, "ko", ms=5)
    paths.set_title(f"gradient descent, α = {ALPHA}, 256 iterations each")
    paths.legend(fontsize=8, loc="upper right")
    costs.set_yscale("log")
    costs.set_ylim(0.02, 20)  # one example's cost can come near 0: the dips leave the plot
    costs.set_xlabel("iteration t")
    costs.set_ylabel("cost J{t} of mini-batch t")
    costs.set_title("each mini-batch's cost (faint) and its bias-corrected average")
    costs.legend(fontsize=7)
    saved(figure, out / "minibatch.png")


def decay_picture(out, results):
    figure, (cloud, rates) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.1, 1]})
    contours(cloud, decay.zoom_box(), 14)
    per_epoch = problem.iterations_per_epoch(decay.BATCH)
    for label, schedule, value, colour in DECAY:
        run = decay.run_one("GradientDescent", 0.1, schedule, value)
        last = run["wb"][-per_epoch:]
        cloud.plot(run["wb"][:, 0], run["wb"][:, 1], color=colour, lw=0.9, label=label)
        cloud.plot(last[:, 0], last[:, 1], "o", color=colour, ms=3)
        rates.plot(np.arange(decay.EPOCHS), run["alpha"], color=colour, lw=1.6, label=label)
        results[f"decay_rate={value:g}"] = {"spread": problem.spread(last), "last_alpha": float(run["alpha"][-1])}
        print(f"{label}: the last epoch's spread {problem.spread(last):.4f}, α of the last epoch {run['alpha'][-1]:.4g}")
    cloud.set_title(f"gradient descent, B = {decay.BATCH}: the last {decay.TAIL_EPOCHS} "
                    f"of {decay.EPOCHS} epochs (dots: the last)")
    cloud.legend(fontsize=8)
    rates.set_yscale("log")
    rates.set_xlabel("epoch e")
    rates.set_ylabel("α of the epoch")
    rates.set_title("α₀ / (1 + decay_rate·e), α₀ = 0.1, as LearningRateLogger logged it")
    rates.legend(fontsize=8)
    saved(figure, out / "decay.png")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    results = {}
    minibatch_picture(args.out, results)
    decay_picture(args.out, results)
    (args.out / "minibatch.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
