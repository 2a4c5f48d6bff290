"""Run by the resume tests in fresh Python processes, on the Keras backend
that KERAS_BACKEND names (TensorFlow with its op determinism on).

    python resume_in_new_process.py train  DIR DTYPE CASE…   # N steps straight; k steps, then save
    python resume_in_new_process.py resume DIR DTYPE CASE…   # load each saved form, train N − k

Each case in DIR/CASE (one process serves every case: starting one costs
seconds). `train` writes DIR/straight.npz (the state after N steps uninterrupted) and,
after the first k steps, the model in each form of `FORMS`: model.keras,
weights.weights.h5 (model.save_weights) and, on TensorFlow, a
tf.train.Checkpoint.
`resume` loads each form in a new process (after `import keras_optims`, no
custom_objects), writes the state as loaded and after training the
remaining N − k steps on the same batches: DIR/<form>.loaded.npz,
DIR/<form>.resumed.npz.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_optims  # noqa: E402
from keras_optims import schedules  # noqa: E402

BACKEND = keras.backend.backend()
FORMS = ("keras", "weights", "checkpoint") if BACKEND == "tensorflow" else ("keras", "weights")
EPOCHS_BEFORE, EPOCHS_AFTER, BATCH, M = 2, 2, 16, 64  # k = 8 steps, N = 16 steps

CASES = {
    "gd": lambda: keras_optims.GradientDescent(0.05),
    "momentum": lambda: keras_optims.Momentum(0.05, bias_correction=True),
    "rmsprop": lambda: keras_optims.RMSProp(0.01),
    "adam": lambda: keras_optims.Adam(0.01),
    "adam-keras-eps": lambda: keras_optims.Adam(0.01, epsilon_mode="keras"),
    # The schedule's position is the step counter: epoch 3 uses the last value.
    "adam-staircase": lambda: keras_optims.Adam(schedules.EpochStaircase([1, 3], [0.02, 0.01, 0.005], M // BATCH)),
}


def state(model):
    """Weights and optimizer variables, keyed by position and the last part
    of the name (`iteration`, `rate`, `v`, `s`): layer names differ between
    processes."""
    arrays = {f"weight_{i}": np.asarray(w.numpy()) for i, w in enumerate(model.weights)}
    for i, v in enumerate(model.optimizer.variables):
        arrays[f"optimizer_{i}_{v.name.split('_')[-1]}"] = np.asarray(v.numpy())
    return arrays


def data(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((M, 4)).astype(dtype)
    return X, (X @ np.array([1.0, -2.0, 0.5, 3.0])).astype(dtype)[:, None]


def model(case, dtype):
    keras.utils.set_random_seed(0)
    net = keras.Sequential([
        keras.Input((4,), dtype=dtype),
        keras.layers.Dense(5, activation="tanh", dtype=dtype),
        keras.layers.Dense(1, dtype=dtype),
    ])
    net.compile(optimizer=CASES[case](), loss="mse")
    return net


def fit(net, dtype, epochs):
    X, y = data(dtype)
    net.fit(X, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0)


def train(directory, case, dtype):
    straight = model(case, dtype)
    fit(straight, dtype, EPOCHS_BEFORE + EPOCHS_AFTER)
    np.savez(directory / "straight.npz", **state(straight))
    net = model(case, dtype)
    fit(net, dtype, EPOCHS_BEFORE)
    np.savez(directory / "saved.npz", **state(net))
    net.save(directory / "model.keras")
    net.save_weights(directory / "weights.weights.h5")
    if "checkpoint" in FORMS:
        import tensorflow as tf

        tf.train.Checkpoint(model=net, optimizer=net.optimizer).write(str(directory / "checkpoint"))


def resume(directory, case, dtype):
    loaded = {"keras": keras.models.load_model(directory / "model.keras")}
    for form in FORMS[1:]:
        net = model(case, dtype)
        net.optimizer.build(net.trainable_variables)  # create the slots to restore into
        if form == "weights":
            net.load_weights(directory / "weights.weights.h5")
        else:
            import tensorflow as tf

            tf.train.Checkpoint(model=net, optimizer=net.optimizer).read(str(directory / "checkpoint")).assert_consumed()
        loaded[form] = net
    for form, net in loaded.items():
        np.savez(directory / f"{form}.loaded.npz", **state(net))
        fit(net, dtype, EPOCHS_AFTER)
        np.savez(directory / f"{form}.resumed.npz", **state(net))


if __name__ == "__main__":
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    command, directory, dtype, *cases = sys.argv[1:]
    for case in cases:
        folder = Path(directory) / case
        folder.mkdir(exist_ok=True)
        (train if command == "train" else resume)(folder, case, dtype)
