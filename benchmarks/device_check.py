"""One prepared check of correctness and speed on a device, through Keras 3's
JAX and PyTorch backends (a GPU machine may carry no TensorFlow).

    python benchmarks/device_check.py --device gpu|cpu [--quick] --out DIR

For JAX, then PyTorch, each in its own processes:
1. the verification suite (`python -m keras_optims.verification`) in float32
   and float64, its table printed, on the chosen device;
2. Adam, RMSProp, Momentum and GradientDescent: one step of ours against
   that backend's `keras.optimizers` built-in, and for Adam the backend's own
   library (optax's adam under `jax.jit`; `torch.optim.Adam(fused=True)`),
   on the two shapes of bench.py and one large shape (≥ 100M parameters on a
   GPU), next to the device's floor: a device-to-device copy of the same
   bytes. Timed with the device synchronised, medians of repeats (bench.py's
   `time_interleaved`).

Writes DIR/device_check.json (every row, the device's name, the backend,
versions, and "passed" per verification run) and DIR/device_check.md (the
tables, ready to paste into the README). Exit status 0 when every
verification run passed, 1 when one failed, 2 when the device asked for is
not the one used (`--device gpu` on a machine where JAX or PyTorch finds no
GPU: CPU numbers are never reported as GPU numbers).

On the GPU machine (no network), install Keras and what it lacks from the
wheels `make device-wheels` puts in `.wheels/`:

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .wheels/*.whl
    PYTHONPATH=/tmp/site python3 benchmarks/device_check.py --device gpu --out $OUT
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import time_interleaved  # noqa: E402
BACKENDS = ("jax", "torch")
OPTIMIZERS = ("Adam", "RMSProp", "Momentum", "GradientDescent")
BYTES_PER_PARAMETER = {"GradientDescent": 12, "Momentum": 20, "RMSProp": 20, "Adam": 28}  # float32: read + written


def shape_sets(device, quick):
    """{name: variable shapes}: bench.py's (a) and (b), and a large set where
    memory bandwidth rules (≥ 100M parameters on a GPU)."""
    if quick:
        return {"a": [(10, 1000)] * 4 + [(1000,)], "b": [(10, 100)] * 10 + [(100,)] * 10, "large": [(100, 1000)] * 4}
    large = [(5000, 5000)] * 4 if device == "gpu" else [(2000, 2000)] * 4  # 100M on a GPU, 16M on a CPU
    return {"a": [(1000, 1000)] * 4 + [(1000,)], "b": [(100, 100)] * 100 + [(100,)] * 100, "large": large}


def environment(backend, device):
    """The environment of a child process: the backend, the device, JAX's 64-bit floats."""
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1"}
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


# -- run inside a child process, on one backend ------------------------------


def step_cases(backend, optimizer, variable_shapes):
    """{case: one step}: ours, Keras's built-in and the backend's own
    library (benchmarks/backends.py: optax's Adam under JAX, every
    optimizer's torch.optim class under PyTorch, and ours with fused=False
    there), and the floor: one copy moving the
    step's bytes (half of them read, half written)."""
    import keras
    import numpy as np

    from backends import jax_cases, torch_cases

    parameters = sum(int(np.prod(s)) for s in variable_shapes)
    source = keras.ops.zeros((BYTES_PER_PARAMETER[optimizer] // 2 * parameters // 4,), "float32")
    if backend == "jax":
        import jax

        cases = jax_cases(variable_shapes, optimizer)
        copy = jax.jit(lambda x: x.copy())
        cases["floor"] = lambda: jax.block_until_ready(copy(source))
    else:
        import torch

        cases = torch_cases(variable_shapes, optimizer)
        target = torch.empty_like(source)
        cases["floor"] = lambda: target.copy_(source).view(-1)[0].item()
    return cases, parameters


def child(args):
    """Times every optimizer and shape on this process's backend; JSON on stdout."""
    import keras

    from keras_optims import backends

    backend = keras.backend.backend()
    where = backends.device()
    if where["kind"] != args.device:
        print(json.dumps({"error": f"{backend} computes on {where['kind']} ({where['name']}), not on {args.device}"}))
        return 2
    if args.probe:
        print(json.dumps({"device": where}))
        return 0
    rows = []
    for shape_name, variable_shapes in shape_sets(args.device, args.quick).items():
        for optimizer in OPTIMIZERS:
            cases, parameters = step_cases(backend, optimizer, variable_shapes)
            ms = {k: v * 1e3 for k, v in time_interleaved(cases, args.repeats).items()}
            peer = next((k for k in ms if k not in ("ours", "ours in-place", "keras", "floor")), None)
            rows.append({
                "backend": backend, "shape": shape_name, "parameters": parameters, "optimizer": optimizer,
                "ms": ms, "peer": peer, "keras_over_ours": ms["keras"] / ms["ours"],
                "ours_over_peer": ms["ours"] / ms[peer] if peer else None, "ours_over_floor": ms["ours"] / ms["floor"],
            })
            del cases
    print(json.dumps({"device": where, "rows": rows}))
    return 0


# -- the parent: runs the children, writes the report --------------------------


def run_verification(backend, device, dtype, out, quick):
    """The verification suite on one backend (20 steps per check with
    `quick`, else its default 100); returns its JSON payload."""
    path = out / f"verification-{backend}-{dtype}.json"
    command = [sys.executable, "-m", "keras_optims.verification", "--dtype", dtype, "--json", str(path)]
    command += ["--steps", "20"] if quick else []
    done = subprocess.run(command, env=environment(backend, device), cwd=out)  # not the checkout: see `main`
    if not path.exists():
        return {"backend": backend, "dtype": dtype, "passed": False, "error": f"exit status {done.returncode}"}
    return json.loads(path.read_text())


def run_benchmark(backend, args, probe=False):
    """The child's JSON: the device only (`probe`), or every timed row."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--device", args.device,
               "--repeats", str(args.repeats), "--out", str(args.out)]
    command += (["--quick"] if args.quick else []) + (["--probe"] if probe else [])
    done = subprocess.run(command, env=environment(backend, args.device), capture_output=True, text=True, cwd=args.out)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"backend": backend, "error": f"exit status {done.returncode}: {done.stderr[-1500:]}"}
    return {"backend": backend, **json.loads(lines[-1])}


def versions():
    import importlib.metadata as metadata

    found = {}
    for package in ("keras", "jax", "jaxlib", "optax", "torch", "numpy", "keras-optims"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def markdown(report):
    lines = [f"Device check, {report['date']}: {report['device_requested']} — "
             + ", ".join(f"{b['backend']}: {b.get('device', {}).get('name', '?')}" for b in report["benchmarks"]),
             "", "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()), "",
             "| backend | dtype | verification |", "| --- | --- | --- |"]
    for run in report["verification"]:
        counts = run.get("counts", {})
        status = "passed" if run.get("passed") else "FAILED"
        lines.append(f"| {run['backend']} | {run.get('dtype', '?')} | {status} ({counts.get('PASS', 0)} passed, "
                     f"{counts.get('FAIL', 0)} failed, {counts.get('SKIP', 0)} skipped) |")
    lines += ["", "| backend | shape | parameters | optimizer | ours ms | keras ms | peer | peer ms | floor ms | "
              "keras/ours | ours/peer | ours/floor |", "| --- | --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for bench in report["benchmarks"]:
        for r in bench.get("rows", []):
            ms = r["ms"]
            peer = f"{r['peer']} | {ms[r['peer']]:.3f}" if r["peer"] else "— | —"
            ratio = f"{r['ours_over_peer']:.2f}×" if r["peer"] else "—"
            lines.append(f"| {r['backend']} | {r['shape']} | {r['parameters']:,} | {r['optimizer']} | {ms['ours']:.3f} | "
                         f"{ms['keras']:.3f} | {peer} | {ms['floor']:.3f} | {r['keras_over_ours']:.2f}× | {ratio} | "
                         f"{r['ours_over_floor']:.2f}× |")
        if "error" in bench:
            lines.append(f"\n{bench['backend']}: {bench['error']}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("gpu", "cpu"), required=True)
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes, few repeats, 20 verification steps (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 20; 3 with --quick)")
    parser.add_argument("--out", type=Path, required=True, help="folder for device_check.json and device_check.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 20)
    if args.child:
        return child(args)
    # The children run in DIR, not in the checkout: from the checkout's root
    # `python -m keras_optims…` would find the source folder `keras_optims/`
    # before the installed package (whose `verification` and `callbacks`
    # come from other folders of the checkout).
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = {"date": time.strftime("%Y-%m-%d"), "device_requested": args.device, "quick": args.quick,
              "versions": versions(), "verification": [], "benchmarks": []}
    status = 0
    for backend in BACKENDS:
        probe = run_benchmark(backend, args, probe=True)
        if "error" in probe:
            print(f"device_check: {probe['error']}", file=sys.stderr)
            return 2
        for dtype in ("float32", "float64"):
            print(f"\n== verification: {backend}, {dtype}, on {args.device}", flush=True)
            run = run_verification(backend, args.device, dtype, args.out, args.quick)
            report["verification"].append({"backend": backend, "dtype": dtype, **{k: v for k, v in run.items() if k != "rows"},
                                           "rows": run.get("rows", [])})
            status = max(status, 0 if run.get("passed") else 1)
        print(f"\n== benchmark: {backend} on {args.device}", flush=True)
        bench = run_benchmark(backend, args)
        report["benchmarks"].append(bench)
        if "error" in bench:
            status = max(status, 1)
    report["seconds"] = time.perf_counter() - started
    (args.out / "device_check.json").write_text(json.dumps(report, indent=2))
    text = markdown(report)
    (args.out / "device_check.md").write_text(text)
    print("\n" + text)
    print(f"device_check: {'passed' if status == 0 else 'FAILED'} in {report['seconds']:.0f} s; "
          f"wrote {args.out / 'device_check.json'} and {args.out / 'device_check.md'}")
    return status


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
