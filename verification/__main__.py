"""python -m keras_optims.verification (or keras-optims-verify)
[--backend tensorflow|jax|torch|all] [--steps N] [--dtype float32|float64]
[--only NAME] [--processes 1|2] [--json PATH] [--junit PATH] [--markdown PATH]
[--verbose]

Runs the verification suite on a Keras backend and prints a table: case,
steps, max abs err, max rel err, tolerance, PASS/FAIL/SKIP, as wide as the
terminal allows (`COLUMNS`, default 100; long case names wrap). Exit status:
0 when every check passed, 1 when one failed, 2 on bad arguments. For CI:
`--junit` writes JUnit XML (one testcase per row), `--markdown` the table as
Markdown (for a job summary), `--json` every number.

Without `--backend` the suite runs on the current backend (KERAS_BACKEND);
`--backend X` runs it on X, without KERAS_BACKEND and without the default
backend's library (only X's need be installed); `--backend all` runs it on
each installed backend, each in a new Python process, and names each backend
that is not installed with the extra that brings it: skipped, not failed.
Under JAX it turns on ``jax_enable_x64`` itself (float64 models need it).

On TensorFlow and JAX, where two CPUs are available, the mini-batch and
equivalence sections run in a second Python process beside the others
(`--processes 1` keeps one); the line under the table gives each section's
own time.

TensorFlow's native log lines are quieted (``TF_CPP_MIN_LOG_LEVEL=3``,
and the start-up lines written before that level applies are dropped)
unless ``TF_CPP_MIN_LOG_LEVEL`` is set to another level or ``--verbose`` is
given (`keras_optims.startup.prepare_verification_cli`).
"""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

from keras_optims import compat, startup

BACKENDS = tuple(compat.BACKENDS)  # tensorflow, jax, torch


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
        prog="keras-optims-verify",
        description="Checks every keras_optims optimizer, schedule and average step by step "
        "against hand-derived NumPy math.",
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "all"),
                        help="run on this Keras backend (or, with all, on each installed one in turn), in a new process "
                        "(default: the current backend, in this process)")
    parser.add_argument("--steps", type=positive_int, default=100, help="steps per check (default 100)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="dtype of the step-level checks (default float64; training runs in float64)")
    sections = [name for name, _ in SECTIONS]
    parser.add_argument("--only", metavar="NAME", help=f"run the sections whose name contains NAME: {', '.join(sections)}")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=None,
                        help="run the mini-batch and equivalence sections in a second process beside the others "
                        "(2) or everything in one (1); default: 2 on TensorFlow and JAX where two CPUs are "
                        "available, else 1")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    parser.add_argument("--junit", metavar="PATH", help="also write JUnit XML: one testcase per row, failures "
                        "as <failure> with the row's note")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown (e.g. for "
                        "$GITHUB_STEP_SUMMARY)")
    parser.add_argument("--seed", type=int, default=0, help="seed of gradients, data and weights (default 0)")
    parser.add_argument("--verbose", action="store_true", help="keep TensorFlow's native log lines (quieted by "
                        "default unless TF_CPP_MIN_LOG_LEVEL is set)")
    args = parser.parse_args(argv)
    if args.only is not None and not any(args.only in name for name in sections):
        parser.error(f"--only {args.only!r} matches no section; sections: {', '.join(sections)}")
    return args


def table_width():
    """The table's width: the terminal's (`COLUMNS` first), 100 when there is
    no terminal, at least 60."""
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def format_table(rows, width=None):
    """The rows as a text table at most `width` characters wide (default
    `table_width()`): the case column takes what the numbers leave, and a
    longer case name (with its note) wraps onto the following lines."""
    width = table_width() if width is None else width
    headers = ("case", "steps", "max abs err", "max rel err", "tolerance", "status")
    numbers = []
    for row in rows:
        numbers.append(
            (str(row.steps), "—", "—", "—", row.status) if row.status == "SKIP"
            else (str(row.steps), f"{row.max_abs_error:.2e}", f"{row.max_rel_error:.2e}",
                  f"{row.tolerance:.1e}", row.status)
        )
    widths = [max(len(h), *(len(n[i]) for n in numbers)) for i, h in enumerate(headers[1:])]
    case_width = max(12, width - sum(widths) - 2 * len(widths))
    out = ["  ".join([headers[0].ljust(case_width), *(h.rjust(w) for h, w in zip(headers[1:], widths))]).rstrip(),
           "  ".join("-" * w for w in [case_width, *widths])]
    for row, cells in zip(rows, numbers):
        case = row.name + (f"  [{row.note}]" if row.note else "")
        lines = textwrap.wrap(case, case_width, subsequent_indent="  ", break_long_words=True,
                              break_on_hyphens=False) or [""]
        out.append("  ".join([lines[0].ljust(case_width), *(c.rjust(w) for c, w in zip(cells, widths))]))
        out.extend(line for line in lines[1:])
    return "\n".join(out)


def versions(backend):
    """The versions that matter for a run on `backend`."""
    import importlib.metadata as metadata

    import keras
    import numpy

    found = {"keras": keras.__version__, "numpy": numpy.__version__}
    for package in compat.BACKENDS[backend].distributions:
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
    heading = (f"keras_optims verification on the {backend} backend, {device['kind']} ({device['name']}); "
               f"{', '.join(f'{k} {v}' for k, v in versions(backend).items())}")
    print(textwrap.fill(heading, table_width(), subsequent_indent="  ") + "\n")
    processes = args.processes or suite.default_processes()
    rows, seconds, sections = suite.run(args.steps, args.dtype, args.seed, args.only, processes)
    print(format_table(rows))
    counts = {status: sum(r.status == status for r in rows) for status in ("PASS", "FAIL", "SKIP")}
    print(f"\n{backend}: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped "
          f"in {seconds:.1f} s (dtype {args.dtype}, {args.steps} steps)")
    print(textwrap.fill(section_times(sections, processes), table_width(), subsequent_indent="  "))
    payload = {
        "backend": backend, "device": device, "versions": versions(backend),
        "dtype": args.dtype, "steps": args.steps, "seed": args.seed, "seconds": seconds,
        "processes": processes, "sections": sections,
        "passed": counts["FAIL"] == 0, "counts": counts,
        "rows": [{**dataclasses.asdict(r), "name": r.name} for r in rows],
    }
    write_outputs(args, [payload], payload)
    return 1 if counts["FAIL"] else 0


def section_times(sections, processes):
    """One line: each section's own time, and which ran in the second process."""
    from keras_optims.verification.suite import BESIDE

    times = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sections.items())
    beside = [name for name in sections if name in BESIDE]
    where = (f" ({' and '.join(beside)} in a second process, beside the others)"
             if processes > 1 and beside and len(beside) < len(sections) else "")
    return f"time per section: {times}{where}"


def run_in_subprocesses(args):
    """Runs the suite once per backend of `args.backend`, each in a new
    process with KERAS_BACKEND set; combines their JSON."""
    chosen = BACKENDS if args.backend == "all" else (args.backend,)
    installed = compat.installed_backends()
    status, runs = 0, []
    with tempfile.TemporaryDirectory() as folder:
        for backend in chosen:
            if args.backend == "all" and backend not in installed:
                known = compat.BACKENDS[backend]
                reason = f"{known.title} is not installed (pip install \"{known.extra}\")"
                print(f"{backend}: skipped: {reason}\n", flush=True)
                runs.append({"backend": backend, "passed": True, "skipped": reason})
                continue
            out = os.path.join(folder, f"{backend}.json")
            command = [sys.executable, "-m", "keras_optims.verification", "--steps", str(args.steps),
                       "--dtype", args.dtype, "--seed", str(args.seed), "--json", out]
            if args.only:
                command += ["--only", args.only]
            if args.processes:
                command += ["--processes", str(args.processes)]
            if args.verbose:
                command.append("--verbose")
            code = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend}).returncode
            status = max(status, code)
            if os.path.exists(out):
                with open(out) as f:
                    runs.append(json.load(f))
            else:
                runs.append({"backend": backend, "passed": False, "error": f"exit status {code}"})
            print(flush=True)
    if len(chosen) > 1:
        print("all: " + "; ".join(f"{r['backend']} " + (f"skipped ({r['skipped']})" if "skipped" in r else
                                                      "passed" if r["passed"] else "FAILED") for r in runs))
    payload = runs[0] if len(runs) == 1 else {"passed": all(r["passed"] for r in runs), "runs": runs}
    write_outputs(args, runs, payload)
    return status


def write_outputs(args, runs, payload):
    """Writes what --json, --junit and --markdown ask for."""
    from keras_optims.verification import ci

    for path, text in ((args.json, lambda: json.dumps(payload, indent=2)),
                       (args.junit, lambda: ci.junit_xml(runs)),
                       (args.markdown, lambda: ci.markdown(runs))):
        if path:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text())


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.backend is not None and args.backend != current_backend():
        return run_in_subprocesses(args)
    with startup.native_log_lines_dropped():
        return run_here(args)


def current_backend():
    """Keras's backend in this process. Started as the CLI with ``--backend
    X``, that is X already (`keras_optims.startup.prepare_verification_cli`):
    neither KERAS_BACKEND nor the default backend's library is needed."""
    import keras

    return keras.backend.backend()


if __name__ == "__main__":
    sys.exit(main())
