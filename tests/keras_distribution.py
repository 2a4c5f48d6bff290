"""Run by tests/test_distribution.py in a new process: Keras's
`keras.distribution` on JAX with four host CPU devices (XLA's
--xla_force_host_platform_device_count must be set before JAX starts).

For DataParallel and ModelParallel (kernels and biases sharded over the
"model" axis of a 2 × 2 mesh) and for each optimizer with slots, trains the
same float64 model on the same batches as without a distribution, and writes
as JSON: each slot's sharding next to its variable's, and the largest
relative difference of the weights from the single-device run."""

import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["KERAS_BACKEND"] = "jax"
os.environ["JAX_ENABLE_X64"] = "1"

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_optims  # noqa: E402

OPTIMIZERS = {
    "momentum": lambda: keras_optims.Momentum(0.1, beta=0.9),
    "rmsprop": lambda: keras_optims.RMSProp(0.01),
    "adam": lambda: keras_optims.Adam(0.01),
}
rng = np.random.default_rng(0)
x, y = rng.standard_normal((64, 8)), rng.standard_normal((64, 4))


def distributions():
    devices = keras.distribution.list_devices()
    mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "model"], devices)
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = ("model",)
    return {
        "data_parallel": keras.distribution.DataParallel(devices=devices),
        "model_parallel": keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch"),
    }


def train(make_optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="tanh", name="dense_a"),
                              keras.layers.Dense(4, name="dense_b")])
    optimizer = make_optimizer()
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    return model, optimizer


def spec(array):
    return str(array.sharding.spec)


def main(out):
    keras.config.set_floatx("float64")
    results = {"devices": len(keras.distribution.list_devices()), "runs": []}
    for optimizer_name, make in OPTIMIZERS.items():
        alone, _ = train(make)
        for name, distribution in distributions().items():
            with distribution.scope():
                model, optimizer = train(make)
            slots = []
            for variable in model.trainable_variables:
                for slot in optimizer.slot_names:
                    slots.append({"variable": variable.path, "slot": slot, "variable_spec": spec(variable.value),
                                  "slot_spec": spec(optimizer.get_slot(variable, slot))})
            difference = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
                             for a, b in zip(model.get_weights(), alone.get_weights()))
            results["runs"].append({"optimizer": optimizer_name, "distribution": name, "slots": slots,
                                    "iterations": int(optimizer.iterations), "difference": difference})
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
