"""Every per-epoch learning-rate schedule of keras_optims over 100 epochs.

    python examples/schedules.py [--quick] [--out DIR]

The values are read from the schedule objects themselves (called with the
optimizer step at the start of each epoch), the same objects an optimizer
uses; saves schedules.png.
"""

from _common import arguments, saved

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_optims import schedules  # noqa: E402

STEPS_PER_EPOCH = 10
SCHEDULES = {
    "InverseTimeEpochDecay(0.1, decay_rate=1)": schedules.InverseTimeEpochDecay(0.1, 1.0, STEPS_PER_EPOCH),
    "InverseTimeEpochDecay(0.1, decay_rate=1, time_interval=10)": schedules.InverseTimeEpochDecay(
        0.1, 1.0, STEPS_PER_EPOCH, time_interval=10
    ),
    "ExponentialEpochDecay(0.1, rate=0.95)": schedules.ExponentialEpochDecay(0.1, 0.95, STEPS_PER_EPOCH),
    "InverseSqrtEpochDecay(0.1, k=1)": schedules.InverseSqrtEpochDecay(0.1, 1.0, STEPS_PER_EPOCH),
    "EpochStaircase([20, 50, 80], [0.1, 0.05, 0.02, 0.005])": schedules.EpochStaircase(
        [20, 50, 80], [0.1, 0.05, 0.02, 0.005], STEPS_PER_EPOCH
    ),
}


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    epochs = np.arange(100)
    figure, (linear, log) = plt.subplots(1, 2, figsize=(13, 4.5))
    for label, schedule in SCHEDULES.items():
        values = [float(schedule(int(e) * STEPS_PER_EPOCH)) for e in epochs]
        for axes in (linear, log):
            axes.step(epochs, values, where="post", label=label, lw=1.4)
    linear.set_title("learning rate per epoch (α₀ = 0.1)")
    log.set_yscale("log")
    log.set_title("the same, log scale")
    for axes in (linear, log):
        axes.set_xlabel("epoch")
    linear.set_ylabel("α")
    linear.legend(fontsize=7)
    saved(figure, args.out / "schedules.png")


if __name__ == "__main__":
    main()
