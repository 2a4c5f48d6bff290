"""Trains the same small network with each course optimizer and prints the loss.

    python examples/train_each_optimizer.py [--epochs N]

The data is a seeded binary classification problem (two noisy interleaved
half circles, generated with NumPy); the network has two hidden ReLU layers.
Every optimizer starts from the same initial weights and sees the same
mini-batches (batch size 64, shuffled with the same seed).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_optims  # noqa: E402


def moons(m=600, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, m)
    upper = rng.random(m) < 0.5
    x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    X = np.stack([x, y], axis=1) + noise * rng.standard_normal((m, 2))
    return X.astype("float32"), upper.astype("float32")


def model(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


OPTIMIZERS = {
    "GradientDescent": lambda: keras_optims.GradientDescent(learning_rate=0.1),
    "Momentum": lambda: keras_optims.Momentum(learning_rate=0.1, beta=0.9),
    "RMSProp": lambda: keras_optims.RMSProp(learning_rate=0.005),
    "Adam": lambda: keras_optims.Adam(learning_rate=0.005),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    X, y = moons()
    print(f"{'optimizer':<16} {'first-epoch loss':>16} {'final loss':>11} {'accuracy':>9} {'time':>6}")
    for name, make in OPTIMIZERS.items():
        net = model(seed=1)
        net.compile(optimizer=make(), loss="binary_crossentropy", metrics=["accuracy"])
        keras.utils.set_random_seed(2)
        start = time.perf_counter()
        history = net.fit(X, y, batch_size=64, epochs=args.epochs, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
        loss = history.history["loss"]
        accuracy = history.history["accuracy"][-1]
        print(f"{name:<16} {loss[0]:>16.4f} {loss[-1]:>11.4f} {accuracy:>9.3f} {seconds:>5.1f}s")


if __name__ == "__main__":
    main()
