"""`model.fit` speed on the Keras backend that KERAS_BACKEND names: each
course optimizer against its nearest Keras built-in, on the models a user
of the course trains, measured in one process.

    KERAS_BACKEND=torch python benchmarks/fit.py [--quick] [--rounds N] [--model M] [--dtype D] [--json PATH]

`benchmarks/bench.py` runs it once per backend and prints the table.

Models (inputs drawn from a fixed seed):
- course: the course's network, 2-5-2-1 (ReLU, ReLU, sigmoid), binary
  cross-entropy, mini-batches of 64;
- readme: README's example, 2-5-1, the same loss and batch;
- mlp-1m: 512-1024-512-10 (1,055,242 parameters), mean squared error,
  batches of 256;
- embedding: Embedding(20000, 48) (960,000 parameters) over sequences of 32
  tokens, averaged, then Dense(1, sigmoid), batches of 64.

Each in float32 and float64 (``keras.config.set_floatx``; under JAX, float64
needs JAX_ENABLE_X64=1, which bench.py sets for a float64 process of its
own), with every
optimizer of keras_optims (default arguments) and the nearest Keras
built-in: `SGD()`, `SGD(momentum=0.9)`, `RMSprop()`, `Adam()`.

Timing: each (model, dtype, optimizer, ours or Keras) is compiled and run
for one epoch first (tracing and compilation left out); then, in each
round, every case runs one epoch of `fit` in turn (interleaved, so that a
slow spell of the machine touches every case alike), and the time of each
epoch is taken. Reported: steps per second, the median over rounds, and
ours/Keras of those (above 1: ours is faster). `--rounds` sets the rounds
(default 7); "spread" is the largest ratio any case reached in a round over
the smallest, per row: two runs of the same thing differ by that much.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

OPTIMIZERS = ("GradientDescent", "Momentum", "RMSProp", "Adam")
BUILTINS = {  # the nearest Keras built-in, with its defaults
    "GradientDescent": lambda keras: keras.optimizers.SGD(),
    "Momentum": lambda keras: keras.optimizers.SGD(momentum=0.9),
    "RMSProp": lambda keras: keras.optimizers.RMSprop(),
    "Adam": lambda keras: keras.optimizers.Adam(),
}
MODELS = ("course", "readme", "mlp-1m", "embedding")
DTYPES = ("float32", "float64")


def model_and_data(name, quick):
    """(a function making the model, x, y, batch size): one epoch is
    `len(x) // batch` steps."""
    import keras

    layers = keras.layers
    rng = np.random.default_rng(0)
    if name in ("course", "readme"):
        steps, batch = (4 if quick else 100), 64
        x = rng.standard_normal((steps * batch, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype("float64")
        hidden = [5, 2] if name == "course" else [5]

        def make():
            return keras.Sequential([keras.Input((2,)), *(layers.Dense(n, activation="relu") for n in hidden),
                                     layers.Dense(1, activation="sigmoid")]), "binary_crossentropy"

        return make, x, y, batch
    if name == "mlp-1m":
        steps, batch, width = (2 if quick else 20), 256, (16 if quick else 1024)
        x = rng.standard_normal((steps * batch, 512))
        y = x[:, :10].copy()

        def make():
            return keras.Sequential([keras.Input((512,)), layers.Dense(width, activation="relu"),
                                     layers.Dense(512, activation="relu"), layers.Dense(10)]), "mse"

        return make, x, y, batch
    if name == "embedding":
        steps, batch, vocabulary = (2 if quick else 50), 64, (200 if quick else 20000)
        x = rng.integers(0, vocabulary, (steps * batch, 32))
        y = (x[:, 0] % 2).astype("float64")

        def make():
            return keras.Sequential([keras.Input((32,), dtype="int32"), layers.Embedding(vocabulary, 48),
                                     layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")]), \
                "binary_crossentropy"

        return make, x.astype("int32"), y, batch
    raise ValueError(f"Unknown model: {name!r}")


def cases(quick, models=MODELS, dtypes=DTYPES, optimizers=OPTIMIZERS):
    """{(model, dtype, optimizer, "ours" | "keras"): one epoch of fit}, each
    compiled and run once already."""
    import keras

    import keras_optims

    found = {}
    for dtype in dtypes:
        keras.config.set_floatx(dtype)
        for model_name in models:
            make, x, y, batch = model_and_data(model_name, quick)
            if x.dtype.kind == "f":
                x = x.astype(dtype)
            y = y.astype(dtype)
            for optimizer in optimizers:
                for side, make_optimizer in (("ours", getattr(keras_optims, optimizer)),
                                             ("keras", lambda o=optimizer: BUILTINS[o](keras))):
                    keras.utils.set_random_seed(0)
                    model, loss = make()
                    model.compile(optimizer=make_optimizer(), loss=loss)
                    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # trace, compile

                    def epoch(model=model, x=x, y=y, batch=batch):
                        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)

                    found[(model_name, dtype, optimizer, side)] = (epoch, len(x) // batch)
    keras.config.set_floatx("float32")
    return found


def measure(found, rounds):
    """{case: [steps per second, each round]}, the cases interleaved."""
    rates = {key: [] for key in found}
    for _ in range(rounds):
        for key, (epoch, steps) in found.items():
            start = time.perf_counter()
            epoch()
            rates[key].append(steps / (time.perf_counter() - start))
    return rates


def rows(rates):
    """One row per (model, dtype, optimizer): steps per second of each side
    (median over rounds), ours/Keras, and the spread of the per-round ratios."""
    found = []
    for (model, dtype, optimizer, side) in rates:
        if side != "ours":
            continue
        ours, keras_ = rates[(model, dtype, optimizer, "ours")], rates[(model, dtype, optimizer, "keras")]
        per_round = [a / b for a, b in zip(ours, keras_)]
        found.append({
            "model": model, "dtype": dtype, "optimizer": optimizer,
            "steps_per_second": {"ours": statistics.median(ours), "keras": statistics.median(keras_)},
            "ours_over_keras": statistics.median(ours) / statistics.median(keras_),
            "round_ratios": {"min": min(per_round), "max": max(per_round)},
        })
    return found


def machine():
    """The machine and the versions the numbers were measured with."""
    import keras

    backend = keras.backend.backend()
    versions = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__}
    for module in {"tensorflow": ["tensorflow"], "jax": ["jax", "jaxlib"], "torch": ["torch"]}[backend]:
        versions[module] = __import__(module).__version__
    import keras_optims

    versions["keras_optims"] = keras_optims.__version__
    return {"backend": backend, "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "versions": versions}


def format_rows(backend, found):
    lines = [f"{'backend':<10} {'model':<9} {'dtype':<7} {'optimizer':<15} {'ours steps/s':>12} "
             f"{'keras steps/s':>13} {'ours/keras':>10} {'rounds':>13}"]
    for r in found:
        rates, spread = r["steps_per_second"], r["round_ratios"]
        lines.append(f"{backend:<10} {r['model']:<9} {r['dtype']:<7} {r['optimizer']:<15} {rates['ours']:>12.1f} "
                     f"{rates['keras']:>13.1f} {r['ours_over_keras']:>9.2f}× {spread['min']:>5.2f}–{spread['max']:.2f}×")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny models and one round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7; 1 with --quick)")
    parser.add_argument("--dtype", action="append", choices=DTYPES,
                        help="the dtypes to run (repeatable; default both)")
    parser.add_argument("--model", action="append", choices=MODELS,
                        help="the models to run (repeatable; default all, readme with --quick)")
    parser.add_argument("--json", help="write the rows and the machine as JSON")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 7)
    if rounds < 1:
        parser.error(f"--rounds must be at least 1, not {rounds}")
    models = tuple(args.model or (("readme",) if args.quick else MODELS))
    found = rows(measure(cases(args.quick, models=models, dtypes=tuple(args.dtype or DTYPES)), rounds))
    about = machine()
    print(format_rows(about["backend"], found), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": about, "rounds": rounds, "quick": args.quick,
                                               "rows": found}, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
