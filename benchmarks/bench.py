"""Optimizer speed and memory: keras_optims vs Keras's built-ins, torch and
the memory-bandwidth floor.

    python benchmarks/bench.py [--quick] [--repeats N] [--rounds N] [--json PATH]

First `model.fit` on every backend (`fit.py`, in processes of its own: the
course's network, README's model, a ~1M-parameter MLP and an Embedding
model, float32 and float64, each optimizer against its nearest Keras
built-in): what a user feels. Then optimizer steps under the TensorFlow
backend, in this process; then `backends.py` in a new process per backend
(JAX: Adam against optax; PyTorch: every optimizer against torch.optim).

Prints the tables and writes JSON (default benchmarks/results/latest.json).
Every case is timed in the same run, interleaved (one call of each case per
round; the TensorFlow cases, then torch's, then the floor, so that one
library's idle threads do not slow another's), and reported as the median
over the rounds after warm-up; the ratios are what to read, since the
machine is shared and noisy.

Shapes: (a) 4 × (1000, 1000) + (1000,) float32 variables, 4,001,000
parameters; (b) 100 × (100, 100) + 100 × (100,), 1,010,000 parameters in
200 variables. `--quick` shrinks both (a smoke test, not a result).

Cases per optimizer (each with default arguments):
- ours: `keras_optims.X()`, `optimizer.apply` inside `tf.function` (what
  `model.fit` runs on CPU, where Keras leaves XLA off): the fused CPU kernel,
  one op for every variable;
- ours xla: `keras_optims.X(fused=False)`, the XLA update (what runs where
  the fused kernel cannot: GPU, half precision, inside XLA functions);
- keras: the nearest Keras built-in (`SGD()`, `SGD(momentum=0.9)`,
  `RMSprop()`, `Adam()`) the same way;
- keras+xla: that built-in inside `tf.function(jit_compile=True)`;
- ours/10, keras/10: ours and keras with ten steps per `tf.function` call,
  time per step. A call passes every captured variable and gradient to
  TensorFlow's function runtime (a few µs each, whatever the optimizer); per
  step, what is left is mostly the optimizer's own work;
- torch foreach / fused: `torch.optim` with `foreach=True` / `fused=True`
  (where torch supports it), when torch is installed;
- floor: a fused C kernel over the same bytes on all cores (see floor.py).

Then, per optimizer and shape, ours against torch's fused step (foreach
where torch has no fused form) warm and cold (`against_torch`): warm times
each case alone, call after call, so that its data stays in the caches it
fits in; cold evicts the caches before every call, as above. Both one step
per `tf.function` call and ten. The fused kernel's instruction set
(`keras_optims.native.isa()`) is recorded.
"""

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import BYTES_PER_PARAMETER, Floor  # noqa: E402

OPTIMIZERS = ("GradientDescent", "Momentum", "RMSProp", "Adam")
STEPS_PER_CALL = 10


def shapes(name, quick=False):
    """The variable shapes of (a) and (b); `quick` keeps their kind (few large
    vs many small variables) at a size that only smoke-tests the script."""
    if name == "a":
        return [(10 if quick else 1000, 1000)] * 4 + [(1000,)]
    count = 10 if quick else 100
    return [(count, 100)] * count + [(100,)] * count


def keras_cases(optimizer, variable_shapes):
    import keras
    import tensorflow as tf

    import keras_optims

    ours = getattr(keras_optims, optimizer)
    builtin = {
        "GradientDescent": lambda: keras.optimizers.SGD(),
        "Momentum": lambda: keras.optimizers.SGD(momentum=0.9),
        "RMSProp": lambda: keras.optimizers.RMSprop(),
        "Adam": lambda: keras.optimizers.Adam(),
    }[optimizer]
    rng = np.random.default_rng(0)
    grads = [tf.constant(rng.standard_normal(s).astype("float32") * 1e-3) for s in variable_shapes]

    def case(make, jit_compile, steps_per_call=1):
        variables = [keras.Variable(rng.standard_normal(s).astype("float32")) for s in variable_shapes]
        opt = make()

        def steps():
            for _ in range(steps_per_call):
                opt.apply(grads, variables)

        step = tf.function(steps, jit_compile=jit_compile)
        step.steps_per_call = steps_per_call
        return step, opt, variables

    return {
        "ours": case(ours, False),
        "ours xla": case(lambda: ours(fused=False), False),
        "keras": case(builtin, False),
        "keras+xla": case(builtin, True),
        # The same, ten steps per tf.function call: what is left is the
        # optimizer's own work, without the call's cost of passing every
        # captured variable (the same for every optimizer; see README).
        "ours/10": case(ours, False, STEPS_PER_CALL),
        "keras/10": case(builtin, False, STEPS_PER_CALL),
    }


def torch_cases(optimizer, variable_shapes):
    try:
        import torch
    except ImportError:
        return {}
    make = {
        "GradientDescent": lambda p, **kw: torch.optim.SGD(p, lr=0.01, **kw),
        "Momentum": lambda p, **kw: torch.optim.SGD(p, lr=0.01, momentum=0.9, **kw),
        "RMSProp": lambda p, **kw: torch.optim.RMSprop(p, lr=0.001, **kw),
        "Adam": lambda p, **kw: torch.optim.Adam(p, lr=0.001, **kw),
    }[optimizer]
    cases = {}
    for flag in ("foreach", "fused"):
        params = [torch.randn(s, requires_grad=True) for s in variable_shapes]
        for p in params:
            p.grad = torch.randn(p.shape) * 1e-3
        try:
            opt = make(params, **{flag: True})
            opt.step()
        except (RuntimeError, TypeError, ValueError) as error:  # fused not supported here
            cases[f"torch {flag}"] = str(error).splitlines()[0][:60]
            continue

        def step(opt=opt):
            with torch.no_grad():
                opt.step()

        cases[f"torch {flag}"] = (step, None, None)
    return cases


def last_level_cache_bytes(default=32 * 2**20):
    """The size of the largest CPU cache, as Linux reports it (`default`
    elsewhere)."""
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = entry.read_text().strip()
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        try:
            sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
        except (ValueError, IndexError):
            continue
    return max(sizes, default=default)


# Three times the largest cache (at most 2 GiB): the project's machines have
# had 32 MiB and 480 MiB of L3, and a buffer smaller than the cache evicts
# nothing.
_EVICT = np.zeros(min(3 * last_level_cache_bytes(), 2 * 2**30), dtype=np.uint8)


def evict_caches():
    """Touches every cache line of a buffer larger than the last-level cache,
    so that the next timed call finds none of its data cached."""
    lines = _EVICT[::64]
    np.add(lines, 1, out=lines)


def time_interleaved(cases, repeats, warmup=3):
    """{name: median seconds per optimizer step}: one call of every case per
    round (a call makes `fn.steps_per_call` steps, 1 unless set), each
    started with cold caches (`evict_caches`, not timed): every case and the
    floor stream their bytes from memory."""
    runnable = {k: v for k, v in cases.items() if callable(v)}
    for fn in runnable.values():
        for _ in range(warmup):
            fn()
    samples = {k: [] for k in runnable}
    for _ in range(repeats):
        for name, fn in runnable.items():
            evict_caches()
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) / getattr(fn, "steps_per_call", 1))
    return {k: statistics.median(v) for k, v in samples.items()}


def time_blocks(cases, repeats, blocks=5):
    """{name: median seconds per step} with warm caches: each case runs a
    block of calls on its own (after one untimed call), cases take turns
    block by block; the median is over every timed call."""
    samples = {k: [] for k in cases}
    per_block = max(1, repeats // blocks)
    for _ in range(blocks):
        for name, fn in cases.items():
            fn()
            for _ in range(per_block):
                start = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - start) / getattr(fn, "steps_per_call", 1))
    return {k: statistics.median(v) for k, v in samples.items()}


def against_torch(quick, repeats):
    """Ours (one step per call and ten) against torch's fused step, warm and
    cold, per optimizer and shape: rows with ms and ours/torch ratios."""
    rows = []
    for shape_name in ("a", "b"):
        variable_shapes = shapes(shape_name, quick)
        for optimizer in OPTIMIZERS:
            torch_side = {k: v for k, v in torch_cases(optimizer, variable_shapes).items() if isinstance(v, tuple)}
            if not torch_side:
                continue
            peer = "torch fused" if "torch fused" in torch_side else "torch foreach"
            keras_side = keras_cases(optimizer, variable_shapes)
            ours = {name: keras_side[name][0] for name in ("ours", "ours/10")}
            for caches in ("warm", "cold"):
                measure = time_blocks if caches == "warm" else time_interleaved
                times = {**measure(ours, repeats), **measure({peer: torch_side[peer][0]}, repeats)}
                rows.append({
                    "shape": shape_name, "optimizer": optimizer, "caches": caches, "peer": peer,
                    "ms": {k: v * 1e3 for k, v in times.items()},
                    "ours_over_peer": times["ours"] / times[peer],
                    "ours_10_over_peer": times["ours/10"] / times[peer],
                })
    return rows


def format_against_torch(rows, isa):
    lines = ["", f"ours against torch (fused kernel instruction set: {isa})",
             f"{'shape':<5} {'optimizer':<15} {'caches':<6} {'ours ms':>8} {'ours/10':>8} {'peer':<13} {'peer ms':>8} "
             f"{'ours/peer':>9} {'/10':>6}"]
    for r in rows:
        ms = r["ms"]
        lines.append(f"{r['shape']:<5} {r['optimizer']:<15} {r['caches']:<6} {ms['ours']:>8.2f} {ms['ours/10']:>8.2f} "
                     f"{r['peer']:<13} {ms[r['peer']]:>8.2f} {r['ours_over_peer']:>8.2f}× {r['ours_10_over_peer']:>5.2f}×")
    return "\n".join(lines)


def state_bytes(opt, variables):
    """Optimizer state bytes (slots; counters and learning rate excluded) per
    parameter byte."""
    params = sum(int(np.prod(v.shape)) * 4 for v in variables)
    own = {id(opt.iterations), id(getattr(opt, "_learning_rate", None))}
    state = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in opt.variables if id(v) not in own)
    return state / params


def step_benchmark(shape_name, quick, repeats):
    variable_shapes = shapes(shape_name, quick)
    n = sum(int(np.prod(s)) for s in variable_shapes)
    floor = Floor(n)
    rows = []
    for optimizer in OPTIMIZERS:
        keras_side = keras_cases(optimizer, variable_shapes)
        torch_side = torch_cases(optimizer, variable_shapes)
        # Interleaved within each library, one library after the other:
        # torch's and the floor's OpenMP threads keep spinning for a while
        # after their work, and would slow whichever case ran next.
        groups = [
            {name: step for name, (step, _, _) in keras_side.items()},
            {k: (v[0] if isinstance(v, tuple) else v) for k, v in torch_side.items()},
            {"floor": lambda optimizer=optimizer: floor.step(optimizer)},
        ]
        times, cases = {}, {}
        for group in groups:
            times.update(time_interleaved(group, repeats))
            cases.update(group)
        for name, value in cases.items():
            if not callable(value):
                times[name] = None
        notes = {k: v for k, v in cases.items() if isinstance(v, str)}
        _, ours_opt, ours_vars = keras_side["ours"]
        _, keras_opt, keras_vars = keras_side["keras"]
        rows.append({
            "shape": shape_name,
            "optimizer": optimizer,
            "parameters": n,
            "variables": len(variable_shapes),
            "ms": {k: (None if v is None else v * 1e3) for k, v in times.items()},
            "skipped": notes,
            "ours_paths": dict(ours_opt._updater.updates_by_path),
            "keras_over_ours": times["keras"] / times["ours"],
            "keras_over_ours_xla": times["keras"] / times["ours xla"],
            "keras_over_ours_10_steps_per_call": times["keras/10"] / times["ours/10"],
            "keras_xla_over_ours": times["keras+xla"] / times["ours"],
            "ours_over_floor": times["ours"] / times["floor"],
            "floor_GBps": BYTES_PER_PARAMETER[optimizer] * n / times["floor"] / 1e9,
            "state_bytes_per_parameter_byte": {
                "ours": state_bytes(ours_opt, ours_vars),
                "keras": state_bytes(keras_opt, keras_vars),
            },
        })
    return rows, floor.kind


def fit_tables(quick, rounds):
    """The rows of `fit.py` on every backend whose package is installed,
    each in new processes with KERAS_BACKEND set: TensorFlow, JAX (float64
    in a process of its own with JAX_ENABLE_X64=1, float32 without, as a
    float32 user runs it), PyTorch. {"machine": …, "rows": [...]}."""
    runs = [("tensorflow", ["float32", "float64"], {}), ("jax", ["float32"], {"JAX_ENABLE_X64": "0"}),
            ("jax", ["float64"], {"JAX_ENABLE_X64": "1"}), ("torch", ["float32", "float64"], {})]
    machine, found = {}, []
    for backend, dtypes, env in runs:
        if importlib.util.find_spec(backend) is None:
            continue
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "fit.json"
            command = [sys.executable, str(Path(__file__).with_name("fit.py")), "--json", str(out),
                       *(["--quick"] if quick else []), *(["--rounds", str(rounds)] if rounds else []),
                       *(arg for dtype in dtypes for arg in ("--dtype", dtype))]
            done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend, **env},
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"benchmarks/fit.py under {backend} failed:\n{done.stderr[-2000:]}")
            result = json.loads(out.read_text())
        machine[backend] = result["machine"]["versions"]
        found += [{"backend": backend, **row} for row in result["rows"]]
    return {"versions": machine, "rows": found}


def format_fit(fit):
    """The fit table: one line per backend, model, dtype and optimizer."""
    lines = ["model.fit, steps per second (median of interleaved rounds), ours vs the nearest Keras built-in "
             "(ours/keras: the median of the rounds' ratios)",
             f"{'backend':<10} {'model':<9} {'dtype':<7} {'optimizer':<15} {'ours':>8} {'keras':>8} "
             f"{'ours/keras':>10} {'per round':>12}"]
    for r in fit["rows"]:
        rates, spread = r["steps_per_second"], r["round_ratios"]
        lines.append(f"{r['backend']:<10} {r['model']:<9} {r['dtype']:<7} {r['optimizer']:<15} {rates['ours']:>8.1f} "
                     f"{rates['keras']:>8.1f} {r['ours_over_keras']:>9.2f}× {spread['min']:>5.2f}–{spread['max']:.2f}×")
    for backend, versions in fit["versions"].items():
        lines.append(f"{backend}: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return "\n".join(lines)


def other_backends(quick, repeats):
    """The rows of `backends.py` for JAX and PyTorch, each run in a new
    process with KERAS_BACKEND set (a backend whose package is missing is
    left out)."""
    results = []
    for backend in ("jax", "torch"):
        if importlib.util.find_spec(backend) is None:
            continue
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "rows.json"
            command = [sys.executable, str(Path(__file__).with_name("backends.py")), "--repeats", str(repeats), "--json", str(out)]
            done = subprocess.run(command + (["--quick"] if quick else []), env={**os.environ, "KERAS_BACKEND": backend},
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"benchmarks/backends.py under {backend} failed:\n{done.stderr[-2000:]}")
            results.append(json.loads(out.read_text()))
    return results


def format_backends(tensorflow_rows, others):
    """One table of optimizer steps per backend: ours, Keras's built-in, the
    peer library (TensorFlow: Adam against torch's fused Adam)."""
    lines = [
        "",
        f"{'backend':<10} {'optimizer':<15} {'shape':<5} {'ours ms':>8} {'keras ms':>9} {'peer':<21} {'peer ms':>8} "
        f"{'keras/ours':>10} {'ours/peer':>9}",
    ]
    for r in tensorflow_rows:
        if r["optimizer"] == "Adam":
            ms = r["ms"]
            peer = ms.get("torch fused")
            lines.append(
                f"{'tensorflow':<10} {'Adam':<15} {r['shape']:<5} {ms['ours']:>8.2f} {ms['keras']:>9.2f} "
                f"{'torch fused adam':<21} {peer if peer is not None else float('nan'):>8.2f} "
                f"{r['keras_over_ours']:>9.2f}× {(ms['ours'] / peer if peer else float('nan')):>8.2f}×"
            )
    for result in others:
        for r in result["steps"]:
            ms = r["ms"]
            lines.append(
                f"{r['backend']:<10} {r['optimizer']:<15} {r['shape']:<5} {ms['ours']:>8.2f} {ms['keras']:>9.2f} "
                f"{r['peer']:<21} {ms[r['peer']]:>8.2f} {r['keras_over_ours']:>9.2f}× {r['ours_over_peer']:>8.2f}×"
            )
    return "\n".join(lines)


def format_table(rows, floor_kind):
    lines = [
        f"floor: {floor_kind}",
        "",
        f"{'shape':<5} {'optimizer':<15} {'ours ms':>8} {'ours xla':>8} {'keras ms':>9} {'keras+xla':>9} "
        f"{'torch foreach':>13} {'torch fused':>11} {'floor ms':>8} {'keras/ours':>10} {'xla/ours':>8} "
        f"{'ours/floor':>10} {'ours/10':>7} {'keras/10':>8} {'ratio/10':>8} {'state ours/keras':>16}",
    ]
    fmt = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        ms = r["ms"]
        state = r["state_bytes_per_parameter_byte"]
        lines.append(
            f"{r['shape']:<5} {r['optimizer']:<15} {fmt(ms['ours']):>8} {fmt(ms['ours xla']):>8} {fmt(ms['keras']):>9} "
            f"{fmt(ms['keras+xla']):>9} {fmt(ms.get('torch foreach')):>13} {fmt(ms.get('torch fused')):>11} "
            f"{fmt(ms['floor']):>8} {r['keras_over_ours']:>9.2f}× {r['keras_xla_over_ours']:>7.2f}× "
            f"{r['ours_over_floor']:>9.2f}× {fmt(ms['ours/10']):>7} {fmt(ms['keras/10']):>8} "
            f"{r['keras_over_ours_10_steps_per_call']:>7.2f}× {state['ours']:>7.0f}× / {state['keras']:.0f}×"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 40; 5 with --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="fit.py's interleaved rounds (default 7; 1 with --quick)")
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "latest.json"))
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be >= 1")
    repeats = args.repeats or (5 if args.quick else 40)
    if repeats < 1:
        parser.error("--repeats must be >= 1")

    # model.fit on every backend first, each in processes of its own, before
    # this one has imported anything: what a user feels, on a quiet machine.
    fit = fit_tables(args.quick, args.rounds)
    print(format_fit(fit), flush=True)

    import tensorflow as tf

    rows = []
    floor_kind = None
    for shape_name in ("a", "b"):
        shape_rows, floor_kind = step_benchmark(shape_name, args.quick, repeats)
        rows += shape_rows
    torch_rows = against_torch(args.quick, repeats) if importlib.util.find_spec("torch") else []
    from keras_optims import native

    isa = native.isa() if native.available() else "unavailable"
    machine = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "tensorflow": tf.__version__,
        "devices": [d.device_type for d in tf.config.list_physical_devices()],
        "fused_kernel_isa": isa,
    }
    print("\n" + format_table(rows, floor_kind), flush=True)
    print(format_against_torch(torch_rows, isa), flush=True)
    others = other_backends(args.quick, repeats)
    print(format_backends(rows, others))
    payload = {"machine": machine, "repeats": repeats, "quick": args.quick, "floor": floor_kind,
               "steps": rows, "fit": fit, "against_torch": torch_rows, "backends": others}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
