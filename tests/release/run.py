"""make release-check: the distributions a release publishes, built and
checked as a maintainer cuts them.

    python tests/release/run.py [--tag vX.Y.Z] [--out DIR] [--skip-installs]

1. The version: `keras_optims/__init__.py` holds it (its one place), and
   CHANGELOG.md's newest heading names it. With --tag (the release
   workflow passes the pushed tag): the tag is v + the version, the version
   is a final release (no .dev, a, b, rc), its CHANGELOG heading has a date,
   and the checkout has no uncommitted change.
2. Three builds with SOURCE_DATE_EPOCH = the last commit's time (`python -m
   build`): (1) the sdist, then the wheel from that sdist, as a release does;
   (2) and (3) the sdist and the wheel each from the tree.
   - `twine check --strict` passes on the sdist and the wheel;
   - the wheel holds the package and nothing else: `keras_optims/` (with
     `callbacks/` and `verification/` installed inside it) and its
     `.dist-info`; no tests, benchmarks, docs or examples;
   - the sdist holds exactly the files git tracks (the sources, tests, docs,
     examples and benchmarks that building and testing from it need), less
     the forge's and this machine's CI files, plus the metadata setuptools
     writes;
   - the wheel built from the sdist is the wheel built from the tree: the
     same file list, every file the same bytes;
   - two builds are identical byte for byte: the wheels as setuptools writes
     them; the sdists once `reproducible_sdist` has set every time in the
     archive to SOURCE_DATE_EPOCH and sorted its members (setuptools writes
     the build's time into the gzip header and into the files it generates;
     the contents are checked unchanged). The published sdist is that one.
3. Each extra's wheel, `[tensorflow]`, `[jax]` and `[torch]`, in a fresh
   virtual environment outside the checkout (tests/compat/run.py's
   distribution check): README's "Use" block runs and README's "Prove it"
   command passes on that backend, naming the others as skipped with their
   extras.

Writes DIR/dist/ (the distributions to publish), DIR/release.json and
DIR/release.md (names, sizes, SHA-256, each check), prints the table, and
exits non-zero naming each check that failed.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "compat"))
import run as compat  # noqa: E402  (tests/compat/run.py: builds, environments, the distribution check)

BACKENDS = ("tensorflow", "jax", "torch")
# Tracked files that building and testing from the sdist do not need: the
# forge's workflows and this machine's CI entry point, git's own file.
NOT_IN_SDIST = (".github/", ".ci/", ".gitignore")
# What setuptools adds to an sdist beside the tracked files.
SDIST_METADATA = re.compile(r"^(PKG-INFO|setup\.cfg|keras_optims\.egg-info/.*)$")
FINAL = re.compile(r"^\d+\.\d+\.\d+$")


def version():
    """The version from keras_optims/__init__.py, read as text (no import:
    importing the package needs Keras)."""
    text = (ROOT / "keras_optims" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def changelog_heading():
    """The newest heading of CHANGELOG.md: (version, the rest of the line)."""
    match = re.search(r"^## (\S+)(.*)$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    return match.group(1), match.group(2).strip()


def git(*arguments):
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def check_version(tag):
    """The version checks (see the module docstring): a list of problems."""
    problems, current = [], version()
    heading, rest = changelog_heading()
    if heading != current:
        problems.append(f"CHANGELOG.md's newest heading is {heading}, the version is {current}")
    if tag is not None:
        if tag != f"v{current}":
            problems.append(f"the tag {tag} is not v{current}, the version in keras_optims/__init__.py")
        if not FINAL.match(current):
            problems.append(f"{current} is not a final release (X.Y.Z)")
        if not re.fullmatch(r"\(\d{4}-\d{2}-\d{2}\)", rest):
            problems.append(f"CHANGELOG.md's heading for {current} has no date: {rest!r} (write (YYYY-MM-DD))")
        dirty = git("status", "--porcelain")
        if dirty:
            problems.append(f"the checkout has uncommitted changes:\n{dirty}")
    return problems


def source_date_epoch():
    return os.environ.get("SOURCE_DATE_EPOCH") or git("log", "-1", "--format=%ct").strip()


def reproducible_sdist(path, epoch):
    """Rewrites the sdist at `path` with its members sorted, every time set
    to `epoch`, owner root:root, and the gzip header's time `epoch`; the
    members' names, modes and bytes are kept."""
    with tarfile.open(path) as archive:
        members = [(m, archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers()]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member, data in sorted(members, key=lambda item: item[0].name):
            member.mtime, member.uid, member.gid, member.uname, member.gname = int(epoch), 0, 0, "root", "root"
            member.pax_headers = {}
            archive.addfile(member, io.BytesIO(data) if data is not None else None)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=int(epoch)) as out:
        out.write(buffer.getvalue())


def sdist_files(path):
    """{name relative to the sdist's top folder: bytes} of its files."""
    with tarfile.open(path) as archive:
        return {m.name.split("/", 1)[1]: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def wheel_files(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def package_sources():
    """What the wheel must hold under keras_optims/: the tracked Python files
    of the package and of each folder pyproject.toml's package-dir installs
    inside it (callbacks/, verification/), and the kernel's C++ source."""
    import tomllib

    layout = {"keras_optims": "keras_optims"}
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    layout.update({folder: name.replace(".", "/") for name, folder in package_dir.items()})
    found = set()
    for folder, installed in layout.items():
        for path in git("ls-files", folder).splitlines():
            if path.endswith((".py", "/course_update.cc")):
                found.add(f"{installed}/{path.removeprefix(folder + '/')}")
    return found


def build(out, log, epoch, from_sdist):
    """One build into `out`: the sdist and the wheel made from it
    (`from_sdist`), or both from the tree. Returns (sdist, wheel)."""
    shutil.rmtree(out, ignore_errors=True)
    kinds = [] if from_sdist else ["--sdist", "--wheel"]
    compat.run([sys.executable, "-m", "build", *kinds, "--outdir", out, ROOT], log,
               env=compat.clean_env(SOURCE_DATE_EPOCH=epoch))
    sdist, wheel = next(out.glob("*.tar.gz")), next(out.glob("*.whl"))
    reproducible_sdist(sdist, epoch)
    return sdist, wheel


def check_builds(out, log, epoch):
    """The three builds and what they must satisfy: (problems, facts)."""
    problems, facts = [], {}
    (s1, w1), (s2, w2), (s3, w3) = (build(out / f"build-{n}", log, epoch, from_sdist=n == 1) for n in (1, 2, 3))
    compat.run([sys.executable, "-m", "twine", "check", "--strict", s1, w1], log)
    facts["twine check --strict"] = "passed"

    wheel, tree_wheel = wheel_files(w1), wheel_files(w2)
    outside = sorted(n for n in wheel if not n.startswith(("keras_optims/", f"keras_optims-{version()}.dist-info/")))
    if outside:
        problems.append(f"the wheel holds files outside the package: {outside}")
    expected, packaged = package_sources(), {n for n in wheel if n.startswith("keras_optims/")}
    if packaged != expected:
        problems.append(f"the wheel's package differs from the sources: missing {sorted(expected - packaged)}, "
                        f"extra {sorted(packaged - expected)}")
    facts["wheel files"] = len(wheel)

    tracked = {p for p in git("ls-files").splitlines() if not p.startswith(NOT_IN_SDIST)}
    sdist = sdist_files(s1)
    generated = {n for n in sdist if SDIST_METADATA.match(n)}
    if set(sdist) - generated != tracked:
        problems.append(f"the sdist is not the tracked files: missing {sorted(tracked - set(sdist))[:20]}, "
                        f"extra {sorted(set(sdist) - generated - tracked)[:20]}")
    for name in set(sdist) & tracked:
        if sdist[name] != (ROOT / name).read_bytes():
            problems.append(f"the sdist's {name} differs from the tree's")
    facts["sdist files"] = len(sdist)

    changed = sorted(n for n in wheel.keys() | tree_wheel.keys() if wheel.get(n) != tree_wheel.get(n))
    if changed:
        problems.append(f"the wheel built from the sdist differs from the one built from the tree: {changed}")
    facts["wheel from the sdist = wheel from the tree"] = "no" if changed else f"the same {len(wheel)} files, byte for byte"
    unequal = [kind for kind, paths in (("sdist", (s1, s2, s3)), ("wheel", (w1, w2, w3)))
               if len({hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}) != 1]
    problems += [f"three builds of the {kind} are not identical byte for byte" for kind in unequal]
    facts["three builds (one through the sdist), byte for byte"] = f"{', '.join(unequal)} differ" if unequal else "identical"

    dist = out / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir()
    files = [Path(shutil.copy2(p, dist)) for p in (s1, w1)]
    facts["distributions"] = {p.name: {"bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                              for p in files}
    return problems, facts, next(p for p in files if p.suffix == ".whl")


def markdown(summary):
    lines = [f"release check of keras-optims {summary['version']} (SOURCE_DATE_EPOCH={summary['epoch']}): "
             f"{'passed' if summary['ok'] else 'FAILED'} in {summary['minutes']} min", "",
             "| distribution | bytes | SHA-256 |", "| --- | ---: | --- |"]
    lines += [f"| {n} | {f['bytes']:,} | `{f['sha256']}` |" for n, f in summary.get("distributions", {}).items()]
    lines += ["", "| check | result |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in summary["checks"].items()]
    if summary.get("installs"):
        lines += [""] + compat.distribution_table(summary["installs"])
    if summary["problems"]:
        lines += ["", "Problems:"] + [f"- {p}" for p in summary["problems"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", help="the release's tag (vX.Y.Z): also check that this commit can be released as it")
    parser.add_argument("--out", default=str(ROOT / "build" / "release"), help="where results go (default build/release/)")
    parser.add_argument("--skip-installs", action="store_true", help="leave out the fresh installs of each extra")
    args = parser.parse_args(argv)
    started, out = time.monotonic(), Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.txt"
    log.write_text("")
    epoch = source_date_epoch()
    problems = check_version(args.tag)
    checks = {"version": f"{version()}, CHANGELOG.md's newest heading" + (f", tag {args.tag}" if args.tag else "")}
    build_problems, facts, wheel = check_builds(out, log, epoch)
    problems += build_problems
    checks.update({k: v for k, v in facts.items() if k != "distributions"})
    installs = []
    if not args.skip_installs:
        for backend in BACKENDS:
            result = compat.check_distribution(wheel, backend, out)
            installs.append(result)
            if not result["ok"]:
                problems.append(f"{result['name']}: {result.get('error', 'failed')[:2000]}")
            print(f"{result['name']}: {'ok' if result['ok'] else 'FAILED'} ({result['minutes']} min)", flush=True)
    summary = {"version": version(), "epoch": epoch, "checks": checks, "distributions": facts["distributions"],
               "installs": installs, "problems": problems, "ok": not problems,
               "minutes": round((time.monotonic() - started) / 60, 1)}
    (out / "release.json").write_text(json.dumps(summary, indent=2))
    (out / "release.md").write_text(markdown(summary))
    print("\n" + markdown(summary) + f"\nthe distributions: {out / 'dist'}")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
