"""`model.fit` speed on the Keras backend that KERAS_BACKEND names: each
course optimizer against its nearest Keras built-in, on the models a user
of the course trains, measured in one process.

    KERAS_BACKEND=torch python benchmarks/fit.py [--quick] [--rounds N] [--seconds S] [--model M] [--dtype D]
        [--optimizer O] [--compare PATH] [--json PATH]

`benchmarks/bench.py` runs it once per backend and prints the table.

Models (inputs drawn from a fixed seed):
- course: the course's network, 2-5-2-1 (ReLU, ReLU, sigmoid), binary
  cross-entropy, mini-batches of 64;
- readme: README's example, 2-5-1, the same loss and batch;
- mlp-1m: 512-1024-512-10 (1,055,242 parameters), mean squared error,
  batches of 256;
- embedding: Embedding(20000, 48) (960,000 parameters) over sequences of 32
  tokens, averaged, then Dense(1, sigmoid), batches of 64;
- mobilenetv2: `keras.applications.MobileNetV2` (weights=None, 10 classes)
  on 32 × 32 × 3 images, 158 variables with batch normalization, sparse
  categorical cross-entropy, batches of 32: a real Keras application.

Each in float32 and float64 (``keras.config.set_floatx``; under JAX, float64
needs JAX_ENABLE_X64=1, which bench.py sets for a float64 process of its
own; MobileNetV2 in float32 only, as it is trained), with every
optimizer of keras_optims (default arguments) and the nearest Keras
built-in: `SGD()`, `SGD(momentum=0.9)`, `RMSprop()`, `Adam()`.

Timing: each (model, dtype, optimizer, ours or Keras) is compiled and run
for one epoch first (tracing and compilation left out). An epoch has as
many steps as take Keras's built-in about `--seconds` (default 1 s; at
least 10 steps), measured once per model and dtype. An epoch is timed from
the start of its second step to the end of the epoch (`Clock`, a callback
that leaves `fit` in its default asynchronous mode): what is left out is
the part of each `fit` call that does not depend on the optimizer (Keras
turning the arrays into batches, starting the epoch's iterator and its
first step), which on a 2-core machine takes either ~30 or ~130 ms from one
call to the next and would otherwise decide the short epochs' ratios. Then,
in each round, every case runs one epoch of `fit` in turn, ours and Keras's
of a row one after the other, which goes first alternating from round to
round (interleaved, so that a slow spell of the machine touches both sides
of a row alike). Reported per row: steps per second of each side (the
median over rounds), ours/Keras (the median of the per-round ratios, each
round's ours over the same round's Keras; above 1: ours is faster), and
those ratios' quartiles and extremes. `--rounds` sets the rounds (default
15). `--compare PATH` prints, per row, how far this run's ours/Keras is
from the one in PATH (an earlier `--json`): two runs of the same case.
"""

import argparse
import functools
import json
import math
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
MODELS = ("course", "readme", "mlp-1m", "embedding", "mobilenetv2")
FLOAT32_ONLY = ("mobilenetv2",)
MIN_STEPS = 10
DTYPES = ("float32", "float64")


def model_and_data(name, quick):
    """(a function making the model, x, y, batch size): x and y hold up to
    `len(x) // batch` steps (an epoch takes a slice, see `cases`)."""
    import keras

    layers = keras.layers
    rng = np.random.default_rng(0)
    if name == "mobilenetv2":
        steps, batch, alpha = (2 if quick else 60), 32, (0.35 if quick else 1.0)
        x = rng.standard_normal((steps * batch, 32, 32, 3))
        y = rng.integers(0, 10, steps * batch)

        def make():
            return keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=alpha, weights=None,
                                                  classes=10), "sparse_categorical_crossentropy"

        return make, x, y, batch
    if name in ("course", "readme"):
        steps, batch = (4 if quick else 8000), 64
        x = rng.standard_normal((steps * batch, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype("float64")
        hidden = [5, 2] if name == "course" else [5]

        def make():
            return keras.Sequential([keras.Input((2,)), *(layers.Dense(n, activation="relu") for n in hidden),
                                     layers.Dense(1, activation="sigmoid")]), "binary_crossentropy"

        return make, x, y, batch
    if name == "mlp-1m":
        steps, batch, width = (2 if quick else 200), 256, (16 if quick else 1024)
        x = rng.standard_normal((steps * batch, 512))
        y = x[:, :10].copy()

        def make():
            return keras.Sequential([keras.Input((512,)), layers.Dense(width, activation="relu"),
                                     layers.Dense(512, activation="relu"), layers.Dense(10)]), "mse"

        return make, x, y, batch
    if name == "embedding":
        steps, batch, vocabulary = (2 if quick else 2000), 64, (200 if quick else 20000)
        x = rng.integers(0, vocabulary, (steps * batch, 32))
        y = (x[:, 0] % 2).astype("float64")

        def make():
            return keras.Sequential([keras.Input((32,), dtype="int32"), layers.Embedding(vocabulary, 48),
                                     layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")]), \
                "binary_crossentropy"

        return make, x.astype("int32"), y, batch
    raise ValueError(f"Unknown model: {name!r}")


def clock():
    """A Keras callback timing the part of an epoch that depends on the
    optimizer: from the start of the second step to the end of the epoch
    (`seconds`, `steps`). `async_safe`: it leaves `fit` in its default mode,
    where Keras hands each step's logs to a thread of its own."""
    import keras

    class Clock(keras.callbacks.Callback):
        async_safe = True

        def on_epoch_begin(self, epoch, logs=None):
            self.start = None

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start
            self.steps = self.params["steps"] - 1

    return Clock()


def cases(quick, models=MODELS, dtypes=DTYPES, optimizers=OPTIMIZERS, seconds=1.0):
    """{(model, dtype, optimizer, "ours" | "keras"): a function running one
    epoch of fit and returning its timed steps per second}, each compiled
    and run once already; an epoch lasts about `seconds` for Keras's first
    built-in (all of a model and dtype take the same steps)."""
    import keras

    import keras_optims

    found = {}
    for dtype in dtypes:
        keras.config.set_floatx(dtype)
        for model_name in models:
            if dtype != "float32" and model_name in FLOAT32_ONLY:
                continue
            make, x, y, batch = model_and_data(model_name, quick)
            if x.dtype.kind == "f":
                x = x.astype(dtype)
            y = y.astype(dtype) if y.dtype.kind == "f" else y
            steps = None  # set by the first case's warm epoch
            for optimizer in optimizers:
                for side, make_optimizer in (("keras", lambda o=optimizer: BUILTINS[o](keras)),
                                             ("ours", getattr(keras_optims, optimizer))):
                    keras.utils.set_random_seed(0)
                    model, loss = make()
                    model.compile(optimizer=make_optimizer(), loss=loss)
                    timer = clock()
                    probe = min(len(x) // batch, MIN_STEPS)

                    def epoch(model=model, x=x, y=y, batch=batch, timer=timer, steps=probe):
                        model.fit(x[: steps * batch], y[: steps * batch], batch_size=batch, epochs=1, verbose=0,
                                  shuffle=False, callbacks=[timer])
                        return timer.steps / timer.seconds

                    epoch()  # trace, compile
                    if steps is None:  # Keras's first built-in sets the epoch's steps
                        steps = probe
                        for _ in range(0 if quick else 2):  # the second estimate from an epoch of about that length
                            rate = epoch(steps=steps)
                            steps = min(len(x) // batch, max(MIN_STEPS, math.ceil(seconds * rate)))
                    found[(model_name, dtype, optimizer, side)] = functools.partial(epoch, steps=steps)
    keras.config.set_floatx("float32")
    return found


def measure(found, rounds):
    """{case: [steps per second, each round]}: in each round every row's
    two sides one after the other, Keras's first in even rounds and ours
    first in odd ones."""
    rates = {key: [] for key in found}
    for round_ in range(rounds):
        for key in found:
            if key[3] != "ours":
                continue
            for side in ("keras", "ours")[::(-1) ** round_]:
                rates[(*key[:3], side)].append(found[(*key[:3], side)]())
    return rates


def rows(rates, steps=None):
    """One row per (model, dtype, optimizer): steps per second of each side
    (median over rounds), ours/Keras (the median of the per-round ratios),
    those ratios' quartiles and extremes, and every round's steps per
    second (`steps`: {case: steps per epoch}, recorded if given)."""
    found = []
    for (model, dtype, optimizer, side) in rates:
        if side != "ours":
            continue
        ours, keras_ = rates[(model, dtype, optimizer, "ours")], rates[(model, dtype, optimizer, "keras")]
        per_round = sorted(a / b for a, b in zip(ours, keras_))
        quartiles = statistics.quantiles(per_round, n=4) if len(per_round) > 1 else per_round * 3
        middle = statistics.median(per_round)
        found.append({
            "model": model, "dtype": dtype, "optimizer": optimizer,
            "steps_per_second": {"ours": statistics.median(ours), "keras": statistics.median(keras_)},
            "ours_over_keras": middle,
            "round_ratios": {"min": per_round[0], "q1": quartiles[0], "median": middle,
                             "q3": quartiles[2], "max": per_round[-1]},
            "rounds": {"ours": ours, "keras": keras_},
            **({"steps": steps[(model, dtype, optimizer, "ours")]} if steps else {}),
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
    lines = [f"{'backend':<10} {'model':<11} {'dtype':<7} {'optimizer':<15} {'ours steps/s':>12} "
             f"{'keras steps/s':>13} {'ours/keras':>10} {'rounds q1–q3':>13} {'min–max':>12}"]
    for r in found:
        rates, spread = r["steps_per_second"], r["round_ratios"]
        lines.append(f"{backend:<10} {r['model']:<11} {r['dtype']:<7} {r['optimizer']:<15} {rates['ours']:>12.1f} "
                     f"{rates['keras']:>13.1f} {r['ours_over_keras']:>9.3f}× {spread['q1']:>6.3f}–{spread['q3']:.3f} "
                     f"{spread['min']:>5.2f}–{spread['max']:.2f}")
    return "\n".join(lines)


def compare(found, earlier):
    """Per row, this run's ours/Keras against an earlier run's (the rows of
    its JSON): the relative difference, and the largest."""
    before = {(r["model"], r["dtype"], r["optimizer"]): r["ours_over_keras"] for r in earlier}
    lines, worst = [], 0.0
    for r in found:
        key = (r["model"], r["dtype"], r["optimizer"])
        if key in before:
            difference = r["ours_over_keras"] / before[key] - 1
            worst = max(worst, abs(difference))
            lines.append(f"{' '.join(key):<40} {before[key]:.3f}× then, {r['ours_over_keras']:.3f}× now: "
                         f"{difference:+.1%}")
    lines.append(f"largest difference between the two runs: {worst:.1%}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny models and one round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 15; 1 with --quick)")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="about how long one epoch of Keras's built-in takes in a round (default 1)")
    parser.add_argument("--compare", metavar="PATH", help="an earlier --json: print how far each row moved")
    parser.add_argument("--dtype", action="append", choices=DTYPES,
                        help="the dtypes to run (repeatable; default both)")
    parser.add_argument("--model", action="append", choices=MODELS,
                        help="the models to run (repeatable; default all, readme with --quick)")
    parser.add_argument("--optimizer", action="append", choices=OPTIMIZERS,
                        help="the optimizers to run (repeatable; default all)")
    parser.add_argument("--json", help="write the rows and the machine as JSON")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 15)
    if rounds < 1:
        parser.error(f"--rounds must be at least 1, not {rounds}")
    models = tuple(args.model or (("readme",) if args.quick else MODELS))
    made = cases(args.quick, models=models, dtypes=tuple(args.dtype or DTYPES),
                 optimizers=tuple(args.optimizer or OPTIMIZERS), seconds=args.seconds)
    found = rows(measure(made, rounds), {key: epoch.keywords["steps"] for key, epoch in made.items()})
    about = machine()
    print(format_rows(about["backend"], found), flush=True)
    if args.compare:
        print(compare(found, json.loads(Path(args.compare).read_text())["rows"]))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": about, "rounds": rounds, "quick": args.quick,
                                               "rows": found}, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
