"""The course's programming assignment, reproduced with `model.fit`.

The assignment "Optimization methods" trains a 2-5-2-1 network on two moons
seven times and prints its cost every 1000 epochs. `RUNS` lists those runs
with their published numbers; `train(run)` repeats one with a Keras model,
this package's optimizers and `InverseTimeEpochDecay(…,
epoch_numbering="assignment")`, in float64, on the current Keras backend,
fed exactly the assignment's data, initial weights and mini-batches
(`reference.assignment`). The printed cost is Keras's own epoch loss: the
mean of the batch losses weighted by their sizes, i.e. the sum of the
per-example cross-entropy over the epoch divided by 300.
"""

import dataclasses
import time

import keras
import numpy as np

import keras_optims
from keras_optims import backends
from keras_optims.schedules import InverseTimeEpochDecay
from keras_optims.verification import training
from keras_optims.verification.reference import assignment as course

STEPS_PER_EPOCH = -(-course.M // course.BATCH_SIZE)
EPOCHS, PRINT_EVERY = 5000, 1000


@dataclasses.dataclass(frozen=True)
class Run:
    """One of the assignment's runs and the numbers it prints."""

    id: str
    optimizer: str  # "gd", "momentum" (β = 0.9) or "adam" (0.9, 0.999, 1e-8)
    learning_rate: float  # α₀
    decay: str = None  # None, "update_lr" (every epoch) or "schedule_lr_decay" (every 1000)
    published: tuple = ()  # cost after epoch 0, 1000, 2000, 3000, 4000
    published_accuracy: str = ""

    def title(self):
        name = {"gd": "Gradient descent", "momentum": "Momentum (β = 0.9)", "adam": "Adam"}[self.optimizer]
        if self.decay is None:
            return f"{name}, α = {self.learning_rate:g}"
        every = "epoch" if self.time_interval == 1 else f"{self.time_interval} epochs"
        return f"{name}, α₀ = {self.learning_rate:g}, decay every {every}"

    @property
    def time_interval(self):
        return {"update_lr": 1, "schedule_lr_decay": 1000}.get(self.decay)

    def learning_rate_for_keras(self):
        """α₀, or the assignment's decay as one of this package's schedules."""
        if self.decay is None:
            return self.learning_rate
        return InverseTimeEpochDecay(
            self.learning_rate, 1.0, STEPS_PER_EPOCH, time_interval=self.time_interval, epoch_numbering="assignment"
        )

    def keras_optimizer(self):
        learning_rate = self.learning_rate_for_keras()
        if self.optimizer == "gd":
            return keras_optims.GradientDescent(learning_rate)
        if self.optimizer == "momentum":
            return keras_optims.Momentum(learning_rate, beta=0.9)
        return keras_optims.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

    def keras_builtin(self):
        """The nearest of Keras's own optimizers, with the same schedule:
        `SGD(α)`; `SGD(α·(1 − β), momentum=β)`, the course's momentum for a
        constant α only (Keras keeps α inside its buffer, so a decaying α
        acts differently); `Adam(α, 0.9, 0.999, epsilon=1e-8)` with Keras's
        ε̂ in place of the course's ε."""
        learning_rate = self.learning_rate_for_keras()
        if self.optimizer == "gd":
            return keras.optimizers.SGD(learning_rate)
        if self.optimizer == "momentum":
            scaled = learning_rate * 0.1 if self.decay is None else ScaledSchedule(learning_rate, 0.1)
            return keras.optimizers.SGD(scaled, momentum=0.9)
        return keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`factor` times another schedule (α·(1 − β) for Keras's SGD momentum)."""

    def __init__(self, schedule, factor):
        self.schedule, self.factor = schedule, factor

    def __call__(self, step):
        return self.schedule(step) * self.factor

    def get_config(self):
        return {"schedule": keras.saving.serialize_keras_object(self.schedule), "factor": self.factor}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["factor"])


RUNS = [
    Run("gd", "gd", 0.0007, published=(0.702405, 0.668101, 0.635288, 0.600491, 0.573367),
        published_accuracy="0.7167"),
    Run("momentum", "momentum", 0.0007, published=(0.702413, 0.668167, 0.635388, 0.600591, 0.573444),
        published_accuracy="0.7167"),
    Run("adam", "adam", 0.0007, published=(0.702166, 0.167845, 0.141316, 0.138788, 0.136066),
        published_accuracy="> 94%"),
    Run("gd-decay-every-epoch", "gd", 0.1, "update_lr",
        published=(0.701091, 0.661884, 0.658620, 0.656765, 0.655486)),
    Run("gd-decay-every-1000", "gd", 0.1, "schedule_lr_decay",
        published=(0.701091, 0.127161, 0.120304, 0.117033, 0.117512)),
    Run("momentum-decay-every-1000", "momentum", 0.1, "schedule_lr_decay",
        published=(0.702226, 0.128974, 0.125965, 0.123375, 0.123218)),
    Run("adam-decay-every-1000", "adam", 0.01, "schedule_lr_decay",
        published=(0.699346, 0.130074, 0.129826, 0.129282, 0.128361)),
]


def model(exact=False):
    """The assignment's network with its initial weights, float64.

    `exact`: `training.ExactDense` layers instead of Keras's `Dense` (whose
    product Keras's PyTorch backend computes in float32, see `train`)."""
    parameters = course.initialize_parameters()
    dense = training.ExactDense if exact else keras.layers.Dense
    network = keras.Sequential([keras.Input((2,), dtype="float64")] + [
        dense(units, activation=activation, dtype="float64")
        for units, activation in zip(course.LAYER_DIMS[1:], ("relu", "relu", "sigmoid"))
    ])
    network.set_weights([
        parameters[f"{kind}{l}"].T if kind == "W" else parameters[f"{kind}{l}"].ravel()
        for l in range(1, len(course.LAYER_DIMS)) for kind in "Wb"
    ])
    return network


def batches(epochs):
    """The assignment's mini-batches, epoch after epoch, as (x, y) with the
    examples in rows (a generator: `fit` takes it on every backend)."""
    X, Y = course.load_dataset()
    for epoch_batches in course.epochs_of_batches(X, Y, epochs):
        for Xb, Yb in epoch_batches:
            yield Xb.T, Yb.T


@dataclasses.dataclass
class Result:
    run: Run
    costs: list  # the cost of every epoch
    accuracy: float
    seconds: float

    @property
    def printed(self):
        """The costs the assignment prints: epochs 0, 1000, 2000, …"""
        return self.costs[::PRINT_EVERY]


def train(run, epochs=EPOCHS, optimizer=None, exact=False):
    """Runs `run` with `model.fit` for `epochs` epochs; returns a `Result`.

    `optimizer` replaces the run's own (to compare with Keras's built-ins).
    Keras's floatx is float64 meanwhile: its loss tracker and the loss's
    sums are float64 too.

    The model is Keras's `Dense` layers with `loss="binary_crossentropy"`,
    as a user writes it. That is exact float64 under TensorFlow only
    (measured against the reference, after 100 epochs: 1e-15 relative). Under
    JAX and PyTorch, Keras's binary cross-entropy from probabilities gives
    gradients ~3e-8 relative off (TensorFlow's Keras computes it from the
    sigmoid's logits), and under PyTorch `keras.ops.matmul` of two float64
    tensors, `Dense`'s product, computes in float32 (Keras's type promotion
    maps float64 to float32 on every backend but TensorFlow): 2e-8 and 4e-8
    relative after 100 epochs. `exact=True` uses layers and a loss written
    to stay in float64 on every backend (`training.ExactDense`,
    `training.CourseCost`): 1e-15 there too.
    """
    if not backends.float64_available():
        raise RuntimeError(
            "The assignment runs in float64, which JAX provides only with x64 enabled: set "
            "JAX_ENABLE_X64=1 in the environment before JAX is imported."
        )
    with training.floatx("float64"):
        network = model(exact)
        loss = training.CourseCost("sigmoid") if exact else "binary_crossentropy"
        # One epoch per call where Keras allows it (not on PyTorch): the same
        # steps and logs, 1.3–2.5× faster on this small network (measured).
        per_call = 1 if keras.backend.backend() == "torch" else STEPS_PER_EPOCH
        network.compile(optimizer=optimizer or run.keras_optimizer(), loss=loss, steps_per_execution=per_call)
        start = time.perf_counter()
        history = network.fit(
            batches(epochs), epochs=epochs, steps_per_epoch=STEPS_PER_EPOCH, shuffle=False, verbose=0
        )
        seconds = time.perf_counter() - start
        X, Y = course.load_dataset()
        predictions = np.asarray(keras.ops.convert_to_numpy(network(X.T))) > 0.5
        accuracy = float(np.mean(predictions.T == Y))
        return Result(run, list(history.history["loss"]), accuracy, seconds)
