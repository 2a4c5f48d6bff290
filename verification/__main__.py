"""python -m keras_optims.verification [--steps N] [--dtype float32|float64]
[--only NAME] [--json PATH]

Runs the verification suite and prints a table: case, steps, max abs err,
max rel err, tolerance, PASS/FAIL/SKIP. Exit status: 0 when every check
passed, 1 when one failed, 2 on bad arguments.
"""

import argparse
import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    from keras_optims.verification import suite

    rows, seconds = suite.run(args.steps, args.dtype, args.seed, args.only)
    print(format_table(rows))
    counts = {status: sum(r.status == status for r in rows) for status in ("PASS", "FAIL", "SKIP")}
    print(f"\n{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped "
          f"in {seconds:.1f} s (dtype {args.dtype}, {args.steps} steps)")
    if args.json:
        payload = {
            "dtype": args.dtype, "steps": args.steps, "seed": args.seed, "seconds": seconds,
            "passed": counts["FAIL"] == 0, "counts": counts,
            "rows": [{**dataclasses.asdict(r), "name": r.name} for r in rows],
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
