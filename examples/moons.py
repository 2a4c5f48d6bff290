"""The course's experiment: two moons, a 3-layer network, GD vs momentum vs Adam,
each with and without per-epoch learning-rate decay.

    python examples/moons.py [--quick] [--out DIR]

Data: 300 points of two interleaved half circles with noise 0.2 (NumPy,
seeded). Network: 2 → 5 → 2 → 1, ReLU hidden units, sigmoid output, binary
cross-entropy, He initialisation (seeded, the same for every variant).
Mini-batches of 64, reshuffled every epoch as the course says (a seeded
permutation per epoch, 4 full batches and one of 44).

Variants, as in the course's programming exercise:
- no decay: α = 0.0007 for all three optimizers, 5,000 epochs;
- with decay: `InverseTimeEpochDecay(α₀, decay_rate=1, time_interval=1000)`
  with α₀ = 0.1 for GD and momentum and 0.01 for Adam.
`--quick` runs 60 epochs (decay every 12) in a few seconds: a smoke test,
not the result. Prints a table of final cost and training accuracy (and
those of the untrained network every variant starts from) and saves the
decision boundaries and cost curves as moons.png (and moons.json).
"""

import json

from _common import arguments, saved

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_optims  # noqa: E402
from keras_optims.schedules import InverseTimeEpochDecay  # noqa: E402

M, BATCH = 300, 64
STEPS_PER_EPOCH = -(-M // BATCH)


def two_moons(m=M, noise=0.2, seed=3):
    rng = np.random.default_rng(seed)
    upper = np.arange(m) < m // 2
    angle = rng.uniform(0, np.pi, m)
    x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    X = np.stack([x, y], axis=1) + noise * rng.standard_normal((m, 2))
    return X.astype("float32"), (~upper).astype("float32")[:, None]


def network(seed=0):
    he = lambda k: keras.initializers.HeNormal(seed=seed + k)  # noqa: E731
    return keras.Sequential([
        keras.Input((2,)),
        keras.layers.Dense(5, activation="relu", kernel_initializer=he(1)),
        keras.layers.Dense(2, activation="relu", kernel_initializer=he(2)),
        keras.layers.Dense(1, activation="sigmoid", kernel_initializer=he(3)),
    ])


def mini_batches(X, Y, epochs, seed=0):
    """Every epoch a new seeded permutation, cut into batches of 64 (the last
    one smaller), as one tf.data stream for `fit(steps_per_epoch=…)`."""
    rng = np.random.default_rng(seed)
    order = np.stack([rng.permutation(len(X)) for _ in range(epochs)])
    X, Y = tf.constant(X), tf.constant(Y)
    stream = tf.data.Dataset.from_tensor_slices(order).flat_map(
        lambda permutation: tf.data.Dataset.from_tensor_slices(permutation).batch(BATCH)
    )
    return stream.map(lambda index: (tf.gather(X, index), tf.gather(Y, index)))


def variants(epochs, interval):
    decay = lambda alpha: InverseTimeEpochDecay(alpha, 1.0, STEPS_PER_EPOCH, time_interval=interval)  # noqa: E731
    return {
        "GradientDescent": lambda: keras_optims.GradientDescent(0.0007),
        "Momentum": lambda: keras_optims.Momentum(0.0007, beta=0.9),
        "Adam": lambda: keras_optims.Adam(0.0007),
        "GradientDescent + decay": lambda: keras_optims.GradientDescent(decay(0.1)),
        "Momentum + decay": lambda: keras_optims.Momentum(decay(0.1), beta=0.9),
        "Adam + decay": lambda: keras_optims.Adam(decay(0.01)),
    }


def train(make_optimizer, X, Y, epochs):
    model = network()
    model.compile(optimizer=make_optimizer(), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        mini_batches(X, Y, epochs), epochs=epochs, steps_per_epoch=STEPS_PER_EPOCH, shuffle=False, verbose=0
    )
    cost, accuracy = model.evaluate(X, Y, batch_size=M, verbose=0)
    return model, history.history["loss"], cost, accuracy


def boundary(axes, model, X, Y, title):
    xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 200), np.linspace(-1.2, 1.7, 150))
    grid = np.c_[xx.ravel(), yy.ravel()].astype("float32")
    z = np.asarray(model(grid)).reshape(xx.shape)
    axes.contourf(xx, yy, z > 0.5, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
    axes.scatter(X[:, 0], X[:, 1], c=Y[:, 0], cmap="coolwarm", s=6)
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    epochs, interval = (60, 12) if args.quick else (5000, 1000)
    X, Y = two_moons()
    figure, grid = plt.subplots(2, 4, figsize=(15, 6.5))
    untrained = network()
    untrained.compile(loss="binary_crossentropy", metrics=["accuracy"])
    cost, accuracy = untrained.evaluate(X, Y, batch_size=M, verbose=0)
    results = {"untrained": {"cost": cost, "accuracy": accuracy, "epochs": 0}}
    for index, (name, make) in enumerate(variants(epochs, interval).items()):
        model, losses, cost, accuracy = train(make, X, Y, epochs)
        results[name] = {"cost": cost, "accuracy": accuracy, "epochs": epochs}
        row, column = divmod(index, 3)
        boundary(grid[row, column], model, X, Y, f"{name}\naccuracy {accuracy:.1%}")
        grid[row, 3].plot(losses, label=name.split(" +")[0], lw=1)
    for row, label in enumerate(("α = 0.0007, no decay", "inverse-time decay per 1000 epochs" if not args.quick else "inverse-time decay")):
        grid[row, 3].set_title(f"cost per epoch: {label}", fontsize=9)
        grid[row, 3].set_xlabel("epoch")
        grid[row, 3].legend(fontsize=8)
    figure.tight_layout()
    saved(figure, args.out / "moons.png")
    (args.out / "moons.json").write_text(json.dumps(results, indent=2))
    print(f"\n{'variant':<26} {'final cost':>10} {'accuracy':>9}   ({epochs} epochs)")
    for name, r in results.items():
        print(f"{name:<26} {r['cost']:>10.4f} {r['accuracy']:>9.1%}")


if __name__ == "__main__":
    main()
