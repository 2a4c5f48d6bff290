"""Run by the cross-backend test in fresh Python processes, on the Keras
backend that KERAS_BACKEND names.

    python backend_round_trip.py save DIR   # DIR/<backend>-<case>.keras and .npz (the state saved)
    python backend_round_trip.py load DIR   # every DIR/*.keras: DIR/<file>.on-<backend>.npz (the state loaded)

After loading, each model trains one more epoch (training continues from the
loaded state); the process fails if the loss is not finite or the step
counter did not advance.
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
CASES = {
    "adam": lambda: keras_optims.Adam(0.01),
    "momentum-schedule": lambda: keras_optims.Momentum(schedules.InverseTimeEpochDecay(0.05, 1.0, 4)),
    "rmsprop": lambda: keras_optims.RMSProp(0.01, epsilon_mode="keras"),
}


def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4)).astype("float32")
    return X, X @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")


def state(model):
    """Weights, the step counter and every slot (in the model variables' shapes)."""
    optimizer = model.optimizer
    arrays = {"iterations": np.asarray(keras.ops.convert_to_numpy(optimizer.iterations))}
    for i, weight in enumerate(model.trainable_weights):
        arrays[f"weight_{i}"] = np.asarray(weight.numpy())
        for name in optimizer.slot_names:
            arrays[f"{name}_{i}"] = np.asarray(keras.ops.convert_to_numpy(optimizer.get_slot(weight, name)))
    return arrays


def save(directory):
    for case, make in CASES.items():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)])
        model.compile(optimizer=make(), loss="mse")
        model.fit(*data(), batch_size=8, epochs=2, shuffle=False, verbose=0)
        model.save(directory / f"{BACKEND}-{case}.keras")
        np.savez(directory / f"{BACKEND}-{case}.npz", **state(model))


def load(directory):
    for path in sorted(directory.glob("*.keras")):
        model = keras.models.load_model(path)
        np.savez(directory / f"{path.stem}.on-{BACKEND}.npz", **state(model))
        before = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        loss = model.fit(*data(), batch_size=8, epochs=1, shuffle=False, verbose=0).history["loss"]
        after = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        if not (np.all(np.isfinite(loss)) and after == before + 4):
            sys.exit(f"{path.name} on {BACKEND}: loss {loss}, steps {before} -> {after}")


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2])
    (save if command == "save" else load)(directory)
