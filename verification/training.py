"""Training-level checks: a Keras model trained with `model.fit` against the
reference network trained by the reference optimizer, step by step.

Both sides start from the same weights (the reference's initialisation,
copied into Keras) and see the same mini-batches (the reference's
partition, fed to `fit` in that order). After every step the suite compares
the batch loss, every weight and every optimizer slot; the learning rate
comes from the optimizer's schedule on one side and from the reference's
schedule formula on the other, so optimizer and schedule are checked
together. The reference side uses no autograd: its gradients come from the
hand-written backpropagation of `reference.Network`.

The comparison runs in float64. Its tolerance is wider than the step
level's: the two sides compute the forward and backward passes with
different (equally valid) operation orders, so each gradient differs by a
few units of rounding, and training feeds those differences back into
later gradients. Over the short runs here they stay below 1e-10 relative
(measured: < 1e-13).
"""

import contextlib
import dataclasses

import keras
import numpy as np

import keras_optims
from keras_optims.verification import reference, registry
from keras_optims.verification.harness import Report, normwise_errors

TOLERANCE = 1e-10


@dataclasses.dataclass(frozen=True)
class TrainingCase:
    id: str
    layer_dims: tuple
    hidden: str
    output: str
    optimizer: object  # steps_per_epoch -> configured optimizer
    m: int = 300
    batch_size: int = 64
    epochs: int = 3
    l2: float = 0.0


def make_data(case, seed=0):
    """Seeded data in the course's layout: X (n_x, m), Y (n_y, m)."""
    rng = np.random.default_rng(seed)
    n_x, n_y = case.layer_dims[0], case.layer_dims[-1]
    X = rng.standard_normal((n_x, case.m))
    score = np.sin(2 * X[0]) + X[1] * (X[2] if n_x > 2 else 1.0)
    if case.output == "sigmoid":
        Y = (score > 0).astype(np.float64).reshape(1, -1)
    else:
        labels = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_y + 1)[1:-1]))
        Y = np.eye(n_y)[:, labels]
    return X, Y


class ExactDense(keras.layers.Dense):
    """`Dense` written so that float64 stays float64 on every backend.

    Keras 3.15 computes some float64 operations in float32 under JAX and
    PyTorch: its type promotion maps float64 to float32 on every backend but
    TensorFlow (`keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE`), and
    `ops.matmul` (JAX and PyTorch) and `ops.tanh` (JAX) cast their inputs to
    that type, about 1e-7 relative. Here the product is multiply-and-sum and
    tanh(z) = 2·σ(2z) − 1, which keep float64, so the training check
    measures the optimizer, not that."""

    def call(self, inputs):
        z = keras.ops.sum(keras.ops.expand_dims(inputs, -1) * self.kernel, axis=-2) + self.bias
        if self.activation is keras.activations.tanh:
            return 2.0 * keras.activations.sigmoid(2.0 * z) - 1.0
        return self.activation(z)


class CourseCost(keras.losses.Loss):
    """The course's cost of a mini-batch as a Keras loss: the mean over its
    examples of −[y·log a + (1 − y)·log(1 − a)] (sigmoid) or −Σ y·log a
    (softmax), summed over the output units.

    Written with `ops.sum` and the tensors' own operators: Keras 3.15's loss
    functions and their "sum_over_batch_size" reduction go through
    `ops.mean` and `ops.divide`, which return float32 for float64 inputs
    under JAX and PyTorch (see `ExactDense`). Each example's loss is divided
    by the batch size and Keras sums them ("sum" reduction)."""

    def __init__(self, output):
        super().__init__(reduction="sum", name="course_cost")
        self.output = output

    def call(self, y, a):
        ops = keras.ops
        terms = y * ops.log(a) + (1.0 - y) * ops.log(1.0 - a) if self.output == "sigmoid" else y * ops.log(a)
        return -ops.sum(terms, axis=-1) / ops.cast(ops.shape(y)[0], a.dtype)


def keras_model(network, dtype="float64", l2_per_batch=0.0):
    """The reference network as a Keras Sequential model with its weights."""
    layers = [keras.Input((network.layer_dims[0],), dtype=dtype)]
    for l in range(1, network.L + 1):
        activation = network.hidden if l < network.L else network.output
        regularizer = keras.regularizers.L2(l2_per_batch) if l2_per_batch else None
        layers.append(
            ExactDense(network.layer_dims[l], activation=activation, dtype=dtype, kernel_regularizer=regularizer)
        )
    model = keras.Sequential(layers)
    weights = []
    for l in range(1, network.L + 1):
        weights += [network.parameters[f"W{l}"].T, network.parameters[f"b{l}"].ravel()]
    model.set_weights(weights)
    return model


def batch_stream(epochs_of_batches, dtype="float64"):
    """The reference's mini-batches as one stream, epoch after epoch in
    order (a Python generator, which `fit` takes on every backend).
    `fit(…, steps_per_epoch=len(batches))` keeps drawing from it across
    epochs, so Keras sees exactly this sequence."""
    flat = [batch for batches in epochs_of_batches for batch in batches]
    return ((X.T.astype(dtype), Y.T.astype(dtype)) for X, Y in flat)


class Capture(keras.callbacks.Callback):
    """After every batch: weights, slots and the batch's own loss.

    Keras logs the epoch's running mean, weighted by examples; the batch's
    own loss is read from the loss tracker's sums instead:
    ℓ_k = (total_k − total_{k−1}) / (count_k − count_{k−1})."""

    def __init__(self, slot_names):
        super().__init__()
        self.slot_names, self.records = slot_names, []

    def on_epoch_begin(self, epoch, logs=None):
        self.previous = (0.0, 0.0)

    def on_train_batch_end(self, batch, logs=None):
        tracker = self.model._loss_tracker
        total, count = float(tracker.total.numpy()), float(tracker.count.numpy())
        loss = (total - self.previous[0]) / (count - self.previous[1])
        self.previous = (total, count)
        optimizer = self.model.optimizer
        weights = [w.numpy().copy() for w in self.model.trainable_weights]
        slots = {
            name: [np.array(keras.ops.convert_to_numpy(optimizer.get_slot(w, name))) for w in self.model.trainable_weights]
            for name in self.slot_names
        }
        self.records.append((loss, weights, slots))


def run(case, seed=0):
    """Trains both sides; returns (Report, EWMA Report).

    Keras runs with floatx float64 for the duration (its loss and
    regularisation sums would otherwise mix in float32)."""
    with floatx("float64"):
        return _run(case, seed)


@contextlib.contextmanager
def floatx(dtype):
    """Keras's floatx is `dtype` inside the block, and what it was after."""
    previous = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous)


def _run(case, seed):
    X, Y = make_data(case, seed)
    network = reference.Network(case.layer_dims, case.hidden, case.output, case.l2, seed=seed)
    epochs = [reference.random_mini_batches(X, Y, case.batch_size, seed=seed + 1 + e) for e in range(case.epochs)]
    steps_per_epoch = len(epochs[0])
    if case.l2 and any(batch[0].shape[1] != case.batch_size for batches in epochs for batch in batches):
        raise ValueError("with L2, every batch must have batch_size examples (Keras's L2 has no 1/m)")

    optimizer = case.optimizer(steps_per_epoch)
    spec = registry.reference_for(optimizer)
    arguments = spec.arguments(optimizer.get_config())
    lr_at = registry.learning_rate_reference(optimizer)

    # Keras side: the course's L2 term (λ/2m)·Σ‖W‖² is Keras's L2(λ/2m) per layer.
    model = keras_model(network, l2_per_batch=case.l2 / (2 * case.batch_size))
    model.compile(optimizer=optimizer, loss=CourseCost(case.output))
    capture = Capture(spec.slots)
    ewma = keras_optims.callbacks.EWMA("loss", beta=0.9)
    model.fit(
        batch_stream(epochs), epochs=case.epochs, steps_per_epoch=steps_per_epoch,
        shuffle=False, verbose=0, callbacks=[ewma, capture],
    )

    # Reference side: hand backprop and the reference optimizer step.
    parameters = {k: v.copy() for k, v in network.parameters.items()}
    names = [n for l in range(1, network.L + 1) for n in (f"W{l}", f"b{l}")]
    state = {n: tuple(np.zeros_like(parameters[n]) for _ in spec.slots) for n in names}
    abs_errors, rel_errors, costs = [], [], []
    for t, (Xb, Yb) in enumerate((batch for batches in epochs for batch in batches), start=1):
        costs.append(network.cost(Xb, Yb, parameters))
        grads = network.gradients(Xb, Yb, parameters)
        for n in names:
            parameters[n], *new_state = spec.step(parameters[n], grads["d" + n], *state[n], t, lr=lr_at(t - 1), **arguments)
            state[n] = tuple(new_state)
        keras_loss, weights, slots = capture.records[t - 1]
        pairs = [(np.array([keras_loss]), np.array([costs[-1]]))]
        for n, w in zip(names, weights):
            pairs.append((w, parameters[n].T if n.startswith("W") else parameters[n].ravel()))
        for k, slot in enumerate(spec.slots):
            for n, value in zip(names, slots[slot]):
                pairs.append((value, state[n][k].T if n.startswith("W") else state[n][k].ravel()))
        errors = [normwise_errors(a, d) for a, d in pairs]
        abs_errors.append(max(e[0] for e in errors))
        rel_errors.append(max(e[1] for e in errors))
    report = Report(f"fit: {case.id}", "float64", abs_errors, rel_errors, [TOLERANCE] * len(rel_errors))

    expected_ewma = reference.ewma(costs, 0.9)
    ewma_errors = [normwise_errors([a], [d]) for a, d in zip(ewma.history["ewma_loss"], expected_ewma)]
    ewma_report = Report(
        f"EWMA in fit: {case.id}", "float64", [e[0] for e in ewma_errors], [e[1] for e in ewma_errors],
        [TOLERANCE] * len(ewma_errors),
    )
    return report, ewma_report


TRAINING_CASES = [
    TrainingCase(
        "relu→sigmoid, Adam, inverse-time decay",
        (2, 5, 2, 1), "relu", "sigmoid",
        lambda spe: keras_optims.Adam(registry.SCHEDULE_CASES["inverse-time"](spe)),
    ),
    TrainingCase(
        "tanh→softmax, L2, momentum with bias correction",
        (4, 6, 3), "tanh", "softmax",
        # λ/(2·batch) = 2⁻⁸ is exact in float32: Keras's L2 casts its factor
        # through float32 (ops.cast(l2, x.dtype)), which would add ~1e-9.
        lambda spe: keras_optims.Momentum(0.1, bias_correction=True), m=256, l2=0.5,
    ),
    TrainingCase(
        "sigmoid→sigmoid, RMSProp, epoch staircase",
        (3, 4, 1), "sigmoid", "sigmoid",
        lambda spe: keras_optims.RMSProp(registry.SCHEDULE_CASES["staircase"](spe)),
    ),
    TrainingCase(
        "relu→softmax, gradient descent, exponential decay",
        (3, 5, 4, 3), "relu", "softmax",
        lambda spe: keras_optims.GradientDescent(registry.SCHEDULE_CASES["exponential"](spe)),
    ),
]
