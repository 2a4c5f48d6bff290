"""The course's programming assignment "Optimization methods", with `model.fit`.

    python examples/course_assignment.py [--backend tensorflow|jax|torch]
        [--epochs N] [--runs ID ...] [--json FILE] [--quick] [--builtin] [--exact-float64]

The assignment trains a 2-5-2-1 network (ReLU, ReLU, sigmoid) on 300 points
of two moons with mini-batches of 64, seven times, and prints the cost
every 1000 epochs. This script repeats those seven runs with a Keras model,
`model.fit` and this package's optimizers and schedules, in float64, on the
Keras backend you choose, and prints each printed cost beside the
assignment's published one. Same data, same initial weights, same batches
(keras_optims.verification.course_assignment); the learning-rate decay is

    InverseTimeEpochDecay(α₀, 1, steps_per_epoch, time_interval=T, epoch_numbering="assignment")

with T = 1 for the assignment's `update_lr` and T = 1000 for its
`schedule_lr_decay`. The exit status is 1 when a printed cost differs from
the published one.

5000 epochs (25,000 steps) a run; --quick runs 1001 epochs (the costs after
epochs 0 and 1000). --builtin trains with the nearest of Keras's own
optimizers instead (SGD, SGD with momentum, Adam): their numbers differ
where their rules differ from the course's.
"""

import argparse
import json
import os
import sys
from pathlib import Path

BACKENDS = ("tensorflow", "jax", "torch")


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                        help="the Keras backend (default: KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--epochs", type=int, default=5000, help="epochs per run (default 5000, the assignment's)")
    parser.add_argument("--quick", action="store_true", help="1001 epochs per run")
    parser.add_argument("--runs", nargs="+", metavar="ID", help="only these runs (default: all seven)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--exact-float64", action="store_true",
                        help="layers and loss that stay float64 on every backend (Keras's PyTorch backend "
                             "computes Dense's product in float32)")
    parser.add_argument("--builtin", action="store_true",
                        help="train with Keras's own SGD and Adam instead (Run.keras_builtin), to compare")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 1001
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, not {args.epochs}")
    return args


def main(argv=None):
    args = arguments(argv)
    sys.stdout.reconfigure(line_buffering=True)  # each run's lines as it ends, also into a file or pipe
    # The backend, and JAX's float64, are chosen before Keras is imported.
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("JAX_ENABLE_X64", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras

    from keras_optims.verification import course_assignment as assignment

    runs = [run for run in assignment.RUNS if args.runs is None or run.id in args.runs]
    unknown = set(args.runs or ()) - {run.id for run in assignment.RUNS}
    if unknown:
        known = ", ".join(repr(run.id) for run in assignment.RUNS)
        sys.exit(f"unknown run(s) {sorted(unknown)}; the runs are {known}")

    print(f"Keras {keras.__version__} on {keras.backend.backend()}, float64, {args.epochs} epochs a run\n")
    results, mismatches = {}, 0
    label = "model.fit, " + ("keras.optimizers" if args.builtin else "keras_optims") + (
        ", exact float64" if args.exact_float64 else "")
    width = max(len(label) + 2, *(len(run.title()) for run in runs)) + 2
    for run in runs:
        result = assignment.train(run, args.epochs, run.keras_builtin() if args.builtin else None, args.exact_float64)
        printed = result.printed
        published = run.published[: len(printed)]
        same = [f"{a:.6f}" == f"{b:.6f}" for a, b in zip(printed, published)]
        mismatches += same.count(False)
        epochs = "".join(f"{e * assignment.PRINT_EVERY:>10}" for e in range(len(printed)))
        print(f"{run.title():<{width}}{epochs}   accuracy")
        print(f"  {label:<{width - 2}}" + "".join(f"{c:>10.6f}" for c in printed)
              + f"   {result.accuracy:>8.4f}   {result.seconds:.1f} s")
        print(f"  {'published':<{width - 2}}" + "".join(f"{c:>10.6f}" for c in published)
              + f"   {run.published_accuracy if args.epochs == assignment.EPOCHS else '':>8}")
        print(f"  {'':<{width - 2}}" + "".join(f"{'same' if s else 'DIFFERS':>10}" for s in same) + "\n")
        results[run.id] = {
            "printed": printed, "published": list(published), "costs": result.costs,
            "accuracy": result.accuracy, "seconds": result.seconds,
        }
    total = sum(len(r["printed"]) for r in results.values())
    print(f"{total - mismatches} of {total} printed costs are the published ones, to the 6 printed decimals.")
    if args.json:
        args.json.write_text(json.dumps({
            "backend": keras.backend.backend(), "keras": keras.__version__, "epochs": args.epochs,
            "optimizers": "keras" if args.builtin else "keras_optims", "exact_float64": args.exact_float64,
            "runs": results,
        }, indent=1))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
