"""Exponentially weighted averages of a noisy seasonal series, with and without
bias correction: the course's daily-temperature pictures.

    python examples/ewma.py [--quick] [--out DIR]

A year of daily temperatures (a seasonal curve plus noise, seeded) averaged
with β = 0.5, 0.9 and 0.98 (about 2, 10 and 50 days) by the package's
`exponentially_weighted_average` — the recursion the EWMA callback runs.
Left: the three βs, bias-corrected. Right: β = 0.98 with bias correction
(green) and without (purple), which starts near zero and needs ~50 days to
catch up. Saves ewma.png.
"""

from _common import arguments, saved

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_optims.callbacks import exponentially_weighted_average  # noqa: E402


def temperatures(days=365, seed=0):
    rng = np.random.default_rng(seed)
    day = np.arange(days)
    # Starting in early summer, so that the uncorrected average (which starts
    # at 0) is visibly wrong for the first weeks, as in the course.
    return 12 + 10 * np.sin(2 * np.pi * (day + 40) / 365) + 3 * rng.standard_normal(days)


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    theta = temperatures(120 if args.quick else 365)
    days = np.arange(1, len(theta) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    for axes in (left, right):
        axes.scatter(days, theta, s=5, color="0.6", label="θ_t (daily temperature)")
        axes.set_xlabel("day t")
    for beta, colour in ((0.5, "tab:orange"), (0.9, "tab:red"), (0.98, "tab:green")):
        left.plot(days, exponentially_weighted_average(theta, beta), color=colour, label=f"β = {beta} (≈ {1 / (1 - beta):.0f} days)")
    left.set_title("V_t / (1 − βᵗ) for three βs")
    right.plot(days, exponentially_weighted_average(theta, 0.98), color="tab:green", label="β = 0.98, bias-corrected")
    right.plot(days, exponentially_weighted_average(theta, 0.98, bias_correction=False), color="tab:purple",
               label="β = 0.98, no bias correction")
    right.set_title("bias correction: V_t starts at 0")
    for axes in (left, right):
        axes.legend(fontsize=8)
    saved(figure, args.out / "ewma.png")


if __name__ == "__main__":
    main()
