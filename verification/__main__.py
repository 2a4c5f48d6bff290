"""python -m keras_optims.verification [--backend tensorflow|jax|torch|all]
[--steps N] [--dtype float32|float64] [--only NAME] [--json PATH]

Runs the verification suite on a Keras backend and prints a table: case,
steps, max abs err, max rel err, tolerance, PASS/FAIL/SKIP. Exit status: 0
when every check passed, 1 when one failed, 2 on bad arguments.

Without `--backend` the suite runs on the current backend (KERAS_BACKEND);
with it, in a new Python process per backend. Under JAX it turns on
``jax_enable_x64`` itself (float64 models need it).
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BACKENDS = ("tensorflow", "jax", "torch")


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {text!r}")
    return value


def parse(argv):
    from keras_optims.verification.suite import SECTIONS

    parser = argparse.ArgumentParser(
        prog="python -m keras_optims.verification",
        description="Checks every keras_optims optimizer, schedule and average step by step "
        "against hand-derived NumPy math.",
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "all"),
                        help="run on this Keras backend (or each in turn), in a new process "
                        "(default: the current backend, in this process)")
    parser.add_argument("--steps", type=positive_int, default=100, help="steps per check (default 100)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="dtype of the step-level checks (default float64; training runs in float64)")
    sections = [name for name, _ in SECTIONS]
    parser.add_argument("--only", metavar="NAME", help=f"run the sections whose name contains NAME: {', '.join(sections)}")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    parser.add_argument("--seed", type=int, default=0, help="seed of gradients, data and weights (default 0)")
    args = parser.parse_args(argv)
    if args.only is not None and not any(args.only in name for name in sections):
        parser.error(f"--only {args.only!r} matches no section; sections: {', '.join(sections)}")
    return args


def format_table(rows):
    headers = ("case", "steps", "max abs err", "max rel err", "tolerance", "status")
    lines = []
    for row in rows:
        numbers = (
            ("—", "—", "—") if row.status == "SKIP"
            else (f"{row.max_abs_error:.2e}", f"{row.max_rel_error:.2e}", f"{row.tolerance:.1e}")
        )
        case = row.name + (f"  [{row.note}]" if row.note else "")
        lines.append((case, str(row.steps), *numbers, row.status))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    for line in lines:
        out.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
    return "\n".join(out)


def versions(backend):
    """The versions that matter for a run on `backend`."""
    import importlib.metadata as metadata

    import keras
    import numpy

    found = {"keras": keras.__version__, "numpy": numpy.__version__}
    for package in {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib"), "torch": ("torch",)}[backend]:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def run_here(args):
    """Runs the suite in this process, on the current backend."""
    import keras

    from keras_optims import backends

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    from keras_optims.verification import suite

    device = backends.device()
    print(f"keras_optims verification on the {backend} backend, {device['kind']} ({device['name']}); "
          f"{', '.join(f'{k} {v}' for k, v in versions(backend).items())}\n")
    rows, seconds = suite.run(args.steps, args.dtype, args.seed, args.only)
    print(format_table(rows))
    counts = {status: sum(r.status == status for r in rows) for status in ("PASS", "FAIL", "SKIP")}
    print(f"\n{backend}: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped "
          f"in {seconds:.1f} s (dtype {args.dtype}, {args.steps} steps)")
    if args.json:
        payload = {
            "backend": backend, "device": device, "versions": versions(backend),
            "dtype": args.dtype, "steps": args.steps, "seed": args.seed, "seconds": seconds,
            "passed": counts["FAIL"] == 0, "counts": counts,
            "rows": [{**dataclasses.asdict(r), "name": r.name} for r in rows],
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)
    return 1 if counts["FAIL"] else 0


def run_in_subprocesses(args):
    """Runs the suite once per backend of `args.backend`, each in a new
    process with KERAS_BACKEND set; combines their JSON."""
    chosen = BACKENDS if args.backend == "all" else (args.backend,)
    status, runs = 0, []
    with tempfile.TemporaryDirectory() as folder:
        for backend in chosen:
            out = os.path.join(folder, f"{backend}.json")
            command = [sys.executable, "-m", "keras_optims.verification", "--steps", str(args.steps),
                       "--dtype", args.dtype, "--seed", str(args.seed), "--json", out]
            if args.only:
                command += ["--only", args.only]
            code = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend}).returncode
            status = max(status, code)
            if os.path.exists(out):
                with open(out) as f:
                    runs.append(json.load(f))
            else:
                runs.append({"backend": backend, "passed": False, "error": f"exit status {code}"})
            print(flush=True)
    if args.json:
        payload = runs[0] if len(runs) == 1 else {"passed": all(r["passed"] for r in runs), "runs": runs}
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)
    return status


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.backend is not None:
        return run_in_subprocesses(args)
    return run_here(args)


if __name__ == "__main__":
    sys.exit(main())
