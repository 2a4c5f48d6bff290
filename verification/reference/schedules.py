"""Learning-rate decay by epoch (0-based e), as the course describes it."""

import math


def epoch_of(step, steps_per_epoch):
    """e = ⌊step / steps_per_epoch⌋ for the 0-based optimizer step."""
    return step // steps_per_epoch


def inverse_time_decay(alpha0, decay_rate, epoch, time_interval=1):
    """α = α₀ / (1 + decay_rate·⌊e / T⌋); T = 1 is the course's formula."""
    return alpha0 / (1 + decay_rate * (epoch // time_interval))


def exponential_decay(alpha0, rate, epoch):
    """α = α₀·rateᵉ (the course's example: rate = 0.95)."""
    return alpha0 * rate**epoch


def inverse_sqrt_decay(alpha0, k, epoch):
    """α = α₀·k / √(e + 1): the course's k/√epoch with epochs counted from 1."""
    return alpha0 * k / math.sqrt(epoch + 1)


def staircase(boundaries, values, epoch):
    """values[i] for boundaries[i−1] ≤ e < boundaries[i] (a boundary is the
    first epoch of the next value)."""
    index = 0
    while index < len(boundaries) and epoch >= boundaries[index]:
        index += 1
    return values[index]
