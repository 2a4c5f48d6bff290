"""Where one TensorFlow optimizer step per call goes: keras_optims.Adam()'s
step against the cost of the call itself, and what a user can do about it.

    python benchmarks/tf_call.py [--quick] [--repeats N] [--json PATH]

On bench.py's shapes (a) and (b), float32, warm caches (each case called
again and again: the per-call cost is what is measured), milliseconds per
step, medians of interleaved rounds:

- step: `optimizer.apply` inside `tf.function`, one step per call (what
  `model.fit` runs per step with the default `steps_per_execution=1`);
- step/10: ten steps per call, per step;
- empty call: a `tf.function` given the same gradients and capturing the
  same variables and slots, doing nothing with them (one ``IdentityN`` op
  over all of them): the runtime's own cost of a call with these inputs,
  which no kernel removes;
- kernel: the fused op alone, called eagerly on the same inputs (no
  function);
- torch fused adam: `torch.optim.Adam(fused=True).step()`, the peer.

Then `model.fit` on fit.py's ~1M-parameter MLP (20 steps of 256) with
`steps_per_execution` 1 and 10, and with the model's `jit_compile` on:
what a user can set.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import shapes  # noqa: E402
from fit import model_and_data  # noqa: E402


def interleaved(cases, rounds, calls):
    """{case: median seconds per call}, each round calling every case
    `calls` times in turn."""
    for run in cases.values():  # warm up: trace, compile, fill caches
        for _ in range(3):
            run()
    samples = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            start = time.perf_counter()
            for _ in range(calls):
                run()
            samples[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def step_cases(variable_shapes):
    import keras
    import tensorflow as tf
    import torch

    import keras_optims
    from keras_optims import native

    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s).astype("float32") for s in variable_shapes]
    grads = [tf.constant(rng.standard_normal(s).astype("float32") * 1e-3) for s in variable_shapes]
    optimizer = keras_optims.Adam()
    variables = [keras.Variable(w) for w in weights]
    optimizer.build(variables)
    one = tf.function(lambda g: optimizer.apply(g, variables))

    @tf.function
    def ten(g):
        for _ in range(10):
            optimizer.apply(g, variables)

    handles = [v.value.handle for v in variables] + [v.value.handle for v in optimizer.variables]

    @tf.function
    def empty(g):
        # One op taking every gradient and every captured variable: the
        # call's inputs are passed and handed to the executor, nothing is done.
        with tf.control_dependencies(tf.raw_ops.IdentityN(input=[*g, *handles])):
            return tf.constant(0)

    cases = {"step": lambda: one(grads), "step/10": lambda: ten(grads), "empty call": lambda: empty(grads)}
    if native.available():
        updater = optimizer._updater
        cases["kernel"] = lambda: updater.apply(optimizer, grads, variables, optimizer.learning_rate)
    params = [torch.nn.Parameter(torch.as_tensor(w)) for w in weights]
    for p, g in zip(params, grads):
        p.grad = torch.as_tensor(g.numpy())
    fused = torch.optim.Adam(params, lr=0.001, fused=True)
    cases["torch fused adam"] = fused.step
    return cases


def fit_cases(quick):
    """model.fit on fit.py's ~1M-parameter MLP: steps_per_execution 1 and
    10, jit_compile."""
    import keras

    import keras_optims

    make, x, y, batch = model_and_data("mlp-1m", quick)
    x, y = x.astype("float32"), y.astype("float32")
    cases = {}
    for name, compile_args in (("fit", {}), ("fit, steps_per_execution=10", {"steps_per_execution": 10}),
                               ("fit, jit_compile=True", {"jit_compile": True})):
        keras.utils.set_random_seed(0)
        model, loss = make()
        model.compile(optimizer=keras_optims.Adam(), loss=loss, **compile_args)
        cases[name] = lambda model=model: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return cases, len(x) // batch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few rounds (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved rounds (default 15; 2 with --quick)")
    parser.add_argument("--json", help="write the results as JSON")
    args = parser.parse_args(argv)
    rounds = args.repeats or (2 if args.quick else 15)
    if rounds < 1:
        parser.error(f"--repeats must be at least 1, not {rounds}")
    result = {"steps": {}, "fit": {}}
    for name in ("a", "b"):
        ms = {k: v * 1e3 for k, v in interleaved(step_cases(shapes(name, args.quick)), rounds, 10).items()}
        ms["step/10"] /= 10
        result["steps"][name] = ms
        print(f"shape ({name}): " + ", ".join(f"{k} {v:.3f} ms" for k, v in ms.items()), flush=True)
    cases, steps = fit_cases(args.quick)
    seconds = interleaved(cases, max(rounds // 3, 1), 1)
    result["fit"] = {name: steps / value for name, value in seconds.items()}
    print("model.fit, MLP: " + ", ".join(f"{k} {v:.1f} steps/s" for k, v in result["fit"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
