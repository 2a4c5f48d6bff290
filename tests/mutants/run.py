"""Mutation testing: plants each slip of `slips.toml` in a scratch copy of
the project, runs the checks that cover the file it touches, and reports
which slips the checks caught (killed) and which they missed (survived).

    python tests/mutants/run.py --record     # every slip, two at a time (make mutants)
    python tests/mutants/run.py --changed    # the slips changed since that run (make mutants-changed)
    python tests/mutants/run.py --only ewma  # slips whose id contains "ewma"
    python tests/mutants/run.py --list

A slip is one exact piece of text in one file and what replaces it: it must
occur exactly once there, so a slip that no longer matches the code fails
the run ("stale") instead of passing unnoticed. Each slip names a check
(`[checks.NAME]` in slips.toml): a Keras backend, whether the verification
suite runs, and the pytest targets. A slip is killed when any of those
commands fails in the mutated copy. Before any slip, every check used runs
once on the unmutated copy and must pass, so that a broken environment
cannot pass for a kill.

`last-full-run.json` records the last run of every slip in which every one
was killed: each slip's fingerprint (its definition and the whole text of
its file) then. `--changed` plants only the slips whose fingerprint differs
now (the file changed, or the slip is new or edited), at most `--budget` of
them, in the order of slips.toml, and names the ones left over; CI runs it
(`make check`). `--record` rewrites the record after a run of every slip
that killed them all.

Exit status: 0 when every slip was killed (or is marked `equivalent`, with
its reason, and survived), 1 when one survived or is stale, 2 when a check
fails on the unmutated code or the arguments are wrong. `--json PATH`
writes the results.
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLIPS = Path(__file__).with_name("slips.toml")
RECORD = Path(__file__).with_name("last-full-run.json")


@dataclass(frozen=True)
class Check:
    name: str
    backend: str
    verification: bool
    tests: tuple

    def commands(self):
        python = sys.executable
        if self.verification:
            yield "verification", [python, "-m", "keras_optims.verification"]
        if self.tests:
            yield "tests", [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *self.tests]


@dataclass(frozen=True)
class Slip:
    id: str
    file: str
    find: str
    replace: str
    check: Check
    why: str = ""
    equivalent: str = ""  # why no check can catch it, if so


@dataclass
class Outcome:
    slip: Slip
    status: str  # killed, survived, equivalent, stale
    by: str = ""
    seconds: float = 0.0
    detail: list = field(default_factory=list)


def load(path=SLIPS):
    data = tomllib.loads(path.read_text())
    checks = {
        name: Check(name, spec["backend"], bool(spec.get("verification", False)), tuple(spec.get("tests", ())))
        for name, spec in data["checks"].items()
    }
    slips = []
    for entry in data["slip"]:
        unknown = set(entry) - {"id", "file", "find", "replace", "check", "why", "equivalent"}
        if unknown or entry["check"] not in checks:
            raise SystemExit(f"slips.toml: slip {entry.get('id')!r} has unknown keys {sorted(unknown)} "
                             f"or check {entry.get('check')!r} (checks: {', '.join(checks)})")
        slips.append(Slip(entry["id"], entry["file"], entry["find"], entry["replace"], checks[entry["check"]],
                          entry.get("why", ""), entry.get("equivalent", "")))
    ids = [s.id for s in slips]
    if len(set(ids)) != len(ids):
        raise SystemExit("slips.toml: two slips share an id")
    return slips


def fingerprint(slip, root=ROOT):
    """What a slip's outcome depends on besides the tests: its definition and
    its file's text."""
    digest = hashlib.sha256(json.dumps([slip.file, slip.find, slip.replace, slip.check.name]).encode())
    target = root / slip.file
    digest.update(target.read_bytes() if target.exists() else b"")
    return digest.hexdigest()[:16]


def read_record(path=RECORD):
    return json.loads(path.read_text()) if path.exists() else {"fingerprints": {}}


def changed(slips, record, root=ROOT):
    """The slips whose fingerprint is not the one recorded at the last full run."""
    recorded = record.get("fingerprints", {})
    return [slip for slip in slips if recorded.get(slip.id) != fingerprint(slip, root)]


def write_record(slips, score, path=RECORD, root=ROOT):
    """Records the fingerprint of every slip of `slips`, and the run's score
    ("killed/counted")."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    path.write_text(json.dumps({
        "date": datetime.date.today().isoformat(),
        "commit": commit.stdout.strip() if commit.returncode == 0 else "",
        "killed": score,
        "fingerprints": {slip.id: fingerprint(slip, root) for slip in slips},
    }, indent=2, ensure_ascii=False) + "\n")


def project_files():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    return [name.decode() for name in listed if name and (ROOT / name.decode()).is_file()]


def package_dir(root=ROOT):
    """pyproject.toml's `[tool.setuptools.package-dir]`: the packages whose
    sources sit outside keras_optims/ (import name -> folder)."""
    pyproject = root / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text()) if pyproject.exists() else {}
    return data.get("tool", {}).get("setuptools", {}).get("package-dir", {})


def copy_project(destination, files, source=ROOT):
    """Copies `files` into `destination`, then lays the copy out as it is
    installed: keras_optims/callbacks is a link to callbacks/, and so on for
    each package-dir entry. The checks put the copy first on PYTHONPATH, so
    every module they import, a slip's included, is the copy's (without the
    links, keras_optims.callbacks would come from the editable install: the
    unmutated tree)."""
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
    for package, folder in package_dir(source).items():
        link = destination.joinpath(*package.split("."))
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(destination / folder, link.parent), target_is_directory=True)


# Run in the copy before any slip: the modules a slip can be planted in
# must load from the copy, not from the editable install.
FROM_THE_COPY = """
import importlib, pathlib, sys
where = pathlib.Path(sys.argv[1]).resolve()
for name in ["keras_optims"] + sys.argv[2:]:
    path = pathlib.Path(importlib.import_module(name).__file__).resolve()
    if not path.is_relative_to(where):
        sys.exit(f"{name} loads from {path}, outside the copy {where}")
"""


def run_check(check, where, scratch, log, layout=False):
    """Runs the check's commands in `where` (first, with `layout`, the check
    that keras_optims and each package-dir package load from it); (name of
    the first that failed or "", seconds)."""
    # KERAS_OPTIMS_ONCE: the check's backend runs the backend-neutral tests too.
    env = {**os.environ, "KERAS_BACKEND": check.backend, "KERAS_OPTIMS_ONCE": check.backend,
           "PYTHONPATH": str(where), "TF_CPP_MIN_LOG_LEVEL": "3",
           "KERAS_OPTIMS_CACHE_DIR": str(scratch / "native-cache"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("JAX_ENABLE_X64", None)
    started = time.perf_counter()
    commands = list(check.commands())
    if layout:
        commands.insert(0, ("layout", [sys.executable, "-c", FROM_THE_COPY, str(where), *package_dir(where)]))
    for name, command in commands:
        extra = ["--basetemp", str(scratch / "pytest")] if name == "tests" else []
        done = subprocess.run(command + extra, cwd=where, env=env, capture_output=True, text=True)
        log.append(f"$ {' '.join(command[1:] + extra)}  (exit {done.returncode})\n{done.stdout[-3000:]}"
                   f"{done.stderr[-3000:]}")
        if done.returncode != 0:
            return name, time.perf_counter() - started
    return "", time.perf_counter() - started


def try_slip(slip, files, scratch_root):
    scratch = Path(tempfile.mkdtemp(prefix=f"{slip.id}-", dir=scratch_root))
    where = scratch / "project"
    copy_project(where, files, scratch_root / "pristine")
    target = where / slip.file
    text = target.read_text() if target.exists() else ""
    if text.count(slip.find) != 1:
        shutil.rmtree(scratch, ignore_errors=True)
        found = "not found" if not text.count(slip.find) else f"found {text.count(slip.find)} times"
        return Outcome(slip, "stale", detail=[f"the text to replace is {found} in {slip.file}"])
    target.write_text(text.replace(slip.find, slip.replace))
    log = []
    by, seconds = run_check(slip.check, where, scratch, log)
    shutil.rmtree(scratch, ignore_errors=True)
    if by:
        return Outcome(slip, "killed", by, seconds, log)
    return Outcome(slip, "equivalent" if slip.equivalent else "survived", "", seconds, log)


def baseline(checks, files, scratch_root, jobs):
    """Every check on the unmutated copy; the names of those that fail."""
    def one(check):
        scratch = Path(tempfile.mkdtemp(prefix=f"baseline-{check.name}-", dir=scratch_root))
        copy_project(scratch / "project", files, scratch_root / "pristine")
        log = []
        by, _ = run_check(check, scratch / "project", scratch, log, layout=True)
        shutil.rmtree(scratch, ignore_errors=True)
        return check.name, by, log

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        return [(name, log) for name, by, log in pool.map(one, checks) if by]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="run the slips whose id contains this text (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="slips run at once (default 2)")
    parser.add_argument("--list", action="store_true", help="list the slips and exit")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run on the unmutated code")
    parser.add_argument("--changed", action="store_true",
                        help=f"only the slips whose file or definition changed since the last full run ({RECORD.name})")
    parser.add_argument("--budget", type=int, help="with --changed: at most this many slips (default: all)")
    parser.add_argument("--record", action="store_true",
                        help=f"after a run of every slip that killed them all, write {RECORD.name}")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1. Received: --jobs {args.jobs}")
    if args.budget is not None and (args.budget < 1 or not args.changed):
        parser.error(f"--budget takes a whole number >= 1, with --changed. Received: --budget {args.budget}")
    if args.record and (args.only or args.changed):
        parser.error("--record needs a run of every slip: it cannot go with --only or --changed")
    every_slip = slips = load()
    if args.only:
        slips = [s for s in slips if any(text in s.id for text in args.only)]
        if not slips:
            parser.error(f"no slip matches --only {' '.join(args.only)}")
    if args.changed:
        record = read_record()
        slips = changed(slips, record)
        since = f"the last full run ({record.get('commit') or 'none recorded'}, {record.get('date', '-')})"
        if not slips:
            print(f"no slip changed since {since}: nothing to plant")
            return 0
        left = slips[args.budget:] if args.budget else []
        slips = slips[: args.budget] if args.budget else slips
        print(f"{len(slips) + len(left)} slips changed since {since}"
              + ("" if args.list else f"; planting {len(slips)}")
              + (f", leaving {len(left)} to make mutants: {', '.join(s.id for s in left)}" if left else ""))
    if args.list:
        for slip in slips:
            print(f"{slip.id:40} {slip.file:40} {slip.check.name}")
        return 0
    files = project_files()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="keras-optims-mutants-") as scratch_root:
        # One snapshot of the project, taken now: edits made while the run
        # goes on do not reach the slips tried later.
        copy_project(Path(scratch_root) / "pristine", files)
        if not args.no_baseline:
            checks = list({slip.check.name: slip.check for slip in slips}.values())
            failed = baseline(checks, files, Path(scratch_root), args.jobs)
            for name, log in failed:
                print(f"check {name!r} fails on the unmutated code:\n" + "\n".join(log)[-4000:])
            if failed:
                return 2
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(try_slip, slip, files, Path(scratch_root)) for slip in slips]
            outcomes = []
            for future in futures:
                outcome = future.result()
                outcomes.append(outcome)
                slip = outcome.slip
                print(f"{outcome.status.upper():10} {slip.id:40} {outcome.by or '-':13} {outcome.seconds:6.1f} s",
                      flush=True)
                if outcome.status in ("survived", "stale"):
                    print("    " + "\n    ".join("\n".join(outcome.detail).splitlines()[-30:]))
    counted = [o for o in outcomes if not o.slip.equivalent]
    killed = sum(o.status == "killed" for o in counted)
    equivalent = [o for o in outcomes if o.slip.equivalent]
    print(f"\nmutation score: {killed}/{len(counted)} slips killed"
          + (f" ({len(equivalent)} listed as equivalent)" if equivalent else "")
          + f" in {time.perf_counter() - started:.0f} s")
    for outcome in equivalent:
        print(f"  equivalent: {outcome.slip.id} ({outcome.status}): {outcome.slip.equivalent}")
    if args.json:
        args.json.write_text(json.dumps({
            "killed": killed, "counted": len(counted),
            "slips": [{"id": o.slip.id, "file": o.slip.file, "status": o.status, "by": o.by,
                       "seconds": round(o.seconds, 1)} for o in outcomes],
        }, indent=2))
    passed = killed == len(counted) and all(o.status != "stale" for o in outcomes)
    if args.record and passed:
        write_record(every_slip, f"{killed}/{len(counted)}")
        print(f"recorded in {RECORD.relative_to(ROOT)}: commit it with the change")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
