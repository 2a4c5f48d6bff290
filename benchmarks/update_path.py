"""Where the fused kernel pays for its call: `model.fit` time per step with
the update forced onto each path, over models from the course's 21
parameters up, on the backend KERAS_BACKEND names.

    KERAS_BACKEND=tensorflow python benchmarks/update_path.py [--rounds N] [--steps N] [--json PATH]

TensorFlow: `fused=True` (the native kernel, one op per dtype) against
`fused=False` (the rule as TensorFlow ops; XLA is off inside Keras's `fit`
on CPU-only TensorFlow). PyTorch: torch's fused SGD/Adam kernels against the
rule's in-place `torch._foreach_*_` form. (JAX has one path: the rule inside
Keras's XLA-compiled step.) Also `fused=None`, the default, which should
take the faster of the two at every size.

Models: multilayer perceptrons, 2 inputs, ReLU layers, one sigmoid output,
binary cross-entropy, batches of 64, float32; two families: wider (6
variables, 21 to ~330,000 parameters) and deeper (width 5, 6 to 66
variables). Each case is compiled and run for one epoch first; then, in
each round, every case runs one epoch of `--steps` steps in turn
(interleaved). Reported: ms per step, the median over rounds, and
fused/unfused time (below 1: the kernel is faster).

The crossover it finds is written next to the choice it sets
(`keras_optims/backends/tensorflow.py`, `SMALL_MODEL`).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

WIDER = [(5, 2), (16, 16), (32, 32), (64, 64), (128, 128), (256, 256), (512, 512)]
DEEPER = [(5,) * k for k in (4, 8, 16, 32)]
OPTIMIZERS = ("GradientDescent", "Adam")


def make_case(hidden, optimizer, fused, steps):
    import keras

    import keras_optims

    keras.utils.set_random_seed(0)
    layers = [keras.Input((2,)), *(keras.layers.Dense(n, activation="relu") for n in hidden),
              keras.layers.Dense(1, activation="sigmoid")]
    model = keras.Sequential(layers)
    model.compile(optimizer=getattr(keras_optims, optimizer)(fused=fused), loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps * 64, 2)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("float32")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)  # trace, compile, build

    def epoch():
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)

    elements = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    return epoch, len(model.trainable_variables), elements, model.optimizer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--steps", type=int, default=200, help="steps per epoch (default 200)")
    parser.add_argument("--hidden", action="append", metavar="5-2",
                        help="only these hidden layer widths (repeatable; default: both families)")
    parser.add_argument("--json", help="write the rows as JSON")
    args = parser.parse_args(argv)
    models = [tuple(int(n) for n in spec.split("-")) for spec in args.hidden] if args.hidden else WIDER + DEEPER
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        print("JAX has one update path (the rule inside Keras's XLA-compiled step): nothing to compare.")
        return 0
    cases = {}
    for hidden in models:
        for optimizer in OPTIMIZERS:
            for fused in (True, False, None):
                cases[(hidden, optimizer, fused)] = make_case(hidden, optimizer, fused, args.steps)
    times = {key: [] for key in cases}
    for _ in range(args.rounds):
        for key, (epoch, *_) in cases.items():
            start = time.perf_counter()
            epoch()
            times[key].append((time.perf_counter() - start) / args.steps * 1000)
    rows = []
    print(f"{backend}: ms per fit step, median of {args.rounds} interleaved rounds of {args.steps} steps")
    print(f"{'hidden':<22} {'vars':>4} {'elements':>9} {'optimizer':<16} {'fused':>7} {'unfused':>8} "
          f"{'default':>8} {'fused/unfused':>13}  default path")
    for hidden in models:
        for optimizer in OPTIMIZERS:
            fused, unfused, default = (statistics.median(times[(hidden, optimizer, f)]) for f in (True, False, None))
            _, count, elements, made = cases[(hidden, optimizer, None)]
            path = getattr(made, "update_path", "?")
            rows.append({"hidden": list(hidden), "variables": count, "elements": elements, "optimizer": optimizer,
                         "ms": {"fused": fused, "unfused": unfused, "default": default}, "default_path": path})
            print(f"{'-'.join(map(str, hidden)):<22} {count:>4} {elements:>9} {optimizer:<16} {fused:>7.3f} "
                  f"{unfused:>8.3f} {default:>8.3f} {fused / unfused:>12.2f}×  {path}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"backend": backend, "rounds": args.rounds, "steps": args.steps,
                                               "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
