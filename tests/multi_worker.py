"""One worker of a 2-process MultiWorkerMirroredStrategy run on 127.0.0.1,
started by test_reliability.py with TF_CONFIG set.

    python multi_worker.py OUT_DIR

Trains the same small model with every registered optimizer configuration
and writes the final weights to OUT_DIR/worker<index>.npz. The training loop
is a custom one (strategy.run + optimizer.apply): Keras 3.15's own `fit`
fails under a two-worker MultiWorkerMirroredStrategy here, with its built-in
optimizers as well ("Attempt to convert a value (PerReplica…)", measured).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras  # noqa: E402
from keras_optims.verification.registry import CASES  # noqa: E402

GLOBAL_BATCH, EPOCHS = 32, 3


def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 4)).astype("float32")
    return X, (X @ np.array([1.0, -2.0, 0.5, 3.0])).astype("float32")[:, None]


def train(case, strategy=None):
    """EPOCHS passes over 4 global batches of 32, in order; the loss of a
    replica is its share of the global batch's mean squared error."""
    strategy = strategy or tf.distribute.get_strategy()
    X, y = data()
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
        optimizer = case.make()
        optimizer.build(model.trainable_variables)
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((X, y)).batch(GLOBAL_BATCH))

    @tf.function
    def step(batch):
        def replica(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum((model(xb) - yb) ** 2) / GLOBAL_BATCH
            optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)

        strategy.run(replica, args=batch)

    for _ in range(EPOCHS):
        for batch in dataset:
            step(batch)
    return [w.numpy() for w in model.trainable_variables]


if __name__ == "__main__":
    out = sys.argv[1]
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    results = {}
    for case in CASES:
        for i, w in enumerate(train(case, strategy)):
            results[f"{case.id}/{i}"] = w
    np.savez(os.path.join(out, f"worker{index}.npz"), **results)
