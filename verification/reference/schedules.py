"""Learning-rate decay by epoch, as the course describes it.

Each formula takes n, the epoch number it is written with. Three numberings
of the same epochs exist (e is Keras's 0-based epoch):

    "zero_based"   n = e               (this package's default)
    "lecture"      n = e + 1           (the lecture's epoch_num counts from 1)
    "assignment"   n = max(e − 1, 0)   (the programming assignment computes α
                                        for epoch i + 1 after epoch i, from i)

`assignment_rates` replays the assignment's own training loop, which is what
"assignment" must reproduce.
"""

import math

NUMBERINGS = ("zero_based", "lecture", "assignment")


def epoch_of(step, steps_per_epoch):
    """e = ⌊step / steps_per_epoch⌋ for the 0-based optimizer step."""
    return step // steps_per_epoch


def epoch_number(epoch, numbering="zero_based"):
    """n for the 0-based epoch e under `numbering` (see the module docstring)."""
    if numbering == "zero_based":
        return epoch
    if numbering == "lecture":
        return epoch + 1
    if numbering == "assignment":
        return max(epoch - 1, 0)
    raise ValueError(f"numbering must be one of {NUMBERINGS}, not {numbering!r}")


def inverse_time_decay(alpha0, decay_rate, n, time_interval=1):
    """α = α₀ / (1 + decay_rate·⌊n / T⌋); T = 1 is the course's formula."""
    return alpha0 / (1 + decay_rate * (n // time_interval))


def exponential_decay(alpha0, rate, n):
    """α = α₀·rateⁿ (the course's example: rate = 0.95)."""
    return alpha0 * rate**n


def inverse_sqrt_decay(alpha0, k, n):
    """α = α₀·k / √n, n counted from 1 (the lecture's k/√epoch_num)."""
    return alpha0 * k / math.sqrt(n)


def staircase(boundaries, values, n):
    """values[i] for boundaries[i−1] ≤ n < boundaries[i] (a boundary is the
    first epoch of the next value)."""
    index = 0
    while index < len(boundaries) and n >= boundaries[index]:
        index += 1
    return values[index]


# The programming assignment's two decay functions (decay_rate 1 in its runs)
# and its training loop's use of them.


def update_lr(learning_rate0, epoch_num, decay_rate):
    """α = α₀ / (1 + decay_rate·epoch_num)."""
    return learning_rate0 / (1 + decay_rate * epoch_num)


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """α = α₀ / (1 + decay_rate·⌊epoch_num / time_interval⌋)."""
    return learning_rate0 / (1 + decay_rate * math.floor(epoch_num / time_interval))


def assignment_rates(learning_rate0, epochs, decay, **arguments):
    """The α each of `epochs` epochs trains with in the assignment's loop:
    epoch 0 starts at α₀, and after epoch i the loop sets
    α = decay(α₀, i, **arguments) for the next one."""
    rates, learning_rate = [], learning_rate0
    for i in range(epochs):
        rates.append(learning_rate)
        learning_rate = decay(learning_rate0, i, **arguments)
    return rates
