"""Run by test_serialization.py in a fresh Python process.

    python resume_in_new_process.py DIR

For every `DIR/<case>.keras` it loads the model with plain
`keras.models.load_model` (only `import keras_optims` before it, no
`custom_objects`), writes the loaded optimizer state to
`DIR/<case>.loaded.npz`, trains one more epoch on `DIR/data.npz` and writes
the state after it to `DIR/<case>.resumed.npz`."""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_optims  # noqa: E402,F401  (registers the classes)


def state(model):
    """Weights and optimizer variables of a compiled model, keyed by position
    and, for optimizer variables, the last part of the name (`iteration`,
    `rate`, `v`, `s`); layer names differ between processes."""
    arrays = {f"weight_{i}": w.numpy() for i, w in enumerate(model.weights)}
    for i, v in enumerate(model.optimizer.variables):
        arrays[f"optimizer_{i}_{v.name.split('_')[-1]}"] = v.numpy()
    return arrays


def main(directory):
    directory = Path(directory)
    data = np.load(directory / "data.npz")
    for path in sorted(directory.glob("*.keras")):
        model = keras.models.load_model(path)
        info = {
            "class": type(model.optimizer).__module__ + "." + type(model.optimizer).__name__,
            "config": model.optimizer.get_config(),
        }
        (directory / f"{path.stem}.loaded.json").write_text(json.dumps(info))
        np.savez(directory / f"{path.stem}.loaded.npz", **state(model))
        model.fit(data["X"], data["y"], batch_size=32, epochs=1, shuffle=False, verbose=0)
        np.savez(directory / f"{path.stem}.resumed.npz", **state(model))


if __name__ == "__main__":
    main(sys.argv[1])
