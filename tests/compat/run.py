"""make test-compat: keras-optims at both ends of every version range it
declares, on each Keras 3 backend, from the distributions users install.

    python tests/compat/run.py [--only NAME] [--skip-dists] [--jobs N] [--out DIR]

1. Builds the sdist and, from it, the wheel (``python -m build``, as a
   release does), and runs ``twine check`` on both.
2. For each configuration of ``tests/compat/matrix.toml``: a fresh virtual
   environment (uv, with its download cache) holding that wheel with only
   its backend's extra, the configuration's pins and the test tools; checks
   that no other backend's library came along; runs the verification suite
   (``keras-optims-verify --backend B``, float64 and float32) and the
   configuration's tests of the fast tier (``pytest -m "not slow and not
   exhaustive"``, against the installed wheel, the backend-neutral ones too).
3. Distribution checks, in fresh environments outside the checkout: the
   wheel with only ``[jax]``, then only ``[torch]`` (no TensorFlow
   installed: checked); ``import keras_optims`` without a backend chosen
   fails with the error that names the extra; README's first example runs
   under that backend; README's "Prove it" command (``--backend all``),
   with no ``KERAS_BACKEND`` in the environment, passes on B and names the
   other backends with their extras, skipped.

Writes DIR/compat.json and DIR/compat.md (the matrix: configuration, tests
passed, verification rows passed, minutes; the distributions' sizes) and
prints the table. Exit status 0 when everything passed.
"""

import argparse
import concurrent.futures
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ElementTree

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MATRIX = Path(__file__).with_name("matrix.toml")
LIBRARIES = {"tensorflow": ["tensorflow", "tf_keras"], "jax": ["jax", "optax"], "torch": ["torch"]}
# The tests each configuration runs: the fast tier (tests/conftest.py).
TIER = "not slow and not exhaustive"


def whole_selection(backend, path=MATRIX):
    """The tests a configuration of `backend` runs unless it names its own."""
    defaults = tomllib.loads(Path(path).read_text())["defaults"]
    return defaults["tensorflow_tests"] if backend == "tensorflow" else ["tests"]


def load_matrix(path=MATRIX):
    """The configurations of `path`, each with the defaults filled in."""
    matrix = tomllib.loads(Path(path).read_text())
    defaults = matrix["defaults"]
    configs = []
    for config in matrix["config"]:
        config = {"extra_packages": defaults["extra_packages"], "ignored_tests": defaults["ignored_tests"], **config}
        config.setdefault("tests", whole_selection(config["backend"], path))
        configs.append(config)
    return configs


def uv():
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if not found:
        sys.exit("tests/compat/run.py needs uv: `make test-compat` installs it (pip install --group compat).")
    return found


def interpreter(version):
    """A CPython `version` ("3.12") on this machine: one on PATH, else one
    that pyenv holds. Exits, naming the version, when there is none."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*", "bin", f"python{version}")))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    sys.exit(f"tests/compat/run.py: no CPython {version} found on PATH or under {pyenv_root}/versions; "
             "the matrix (tests/compat/matrix.toml) runs configurations on it.")


def run(command, log, env=None, cwd=ROOT, check=True):
    """Runs `command`, appending its output to `log`; returns the completed
    process. With `check`, a non-zero exit raises with the log's tail."""
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(map(str, command))}\n")
        out.flush()
        done = subprocess.run([str(c) for c in command], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if check and done.returncode != 0:
        tail = Path(log).read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"exit status {done.returncode}: {' '.join(map(str, command))}\n{tail}")
    return done


def clean_env(**extra):
    """This environment without the variables that would choose for a
    configuration (a backend, a virtual environment, a pip config), with a
    private Keras home so that no keras.json chooses either."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "VIRTUAL_ENV", "PYTHONPATH", "JAX_ENABLE_X64", "PYTHONHOME")}
    env.update(extra)
    return env


def make_env(folder, python, requirements, log):
    """A fresh virtual environment in `folder` with `requirements`."""
    shutil.rmtree(folder, ignore_errors=True)
    run([uv(), "venv", "--quiet", "--python", python, folder], log)
    run([uv(), "pip", "install", "--quiet", "--python", Path(folder) / "bin" / "python", *requirements], log)
    return Path(folder) / "bin"


def installed(bin_dir):
    """{distribution: version} of what `bin_dir`'s Python has."""
    listing = subprocess.run([str(bin_dir / "python"), "-c",
                              "import importlib.metadata as m, json, re; print(json.dumps({re.sub('[-_.]+', '-', "
                              "d.metadata['Name']).lower(): d.version for d in m.distributions()}))"], capture_output=True, text=True, check=True)
    return json.loads(listing.stdout)


def importable(bin_dir, module):
    probe = subprocess.run([str(bin_dir / "python"), "-c",
                            f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"],
                           env=clean_env())
    return probe.returncode == 0


def check_only_its_backend(bin_dir, backend):
    """The libraries of the other backends are not installed."""
    stray = [m for other, modules in LIBRARIES.items() if other != backend for m in modules if importable(bin_dir, m)]
    if stray:
        raise RuntimeError(f"the {backend} environment has other backends' libraries: {', '.join(stray)}")


def verification(bin_dir, backend, dtype, out, log):
    """keras-optims-verify on `backend` in `dtype`: (passed, failed, skipped)."""
    path = out / f"verification-{dtype}.json"
    done = run([bin_dir / "keras-optims-verify", "--backend", backend, "--dtype", dtype, "--json", path],
               log, env=clean_env(), cwd=out, check=False)
    counts = json.loads(path.read_text())["counts"] if path.exists() else {"PASS": 0, "FAIL": 1, "SKIP": 0}
    return {"passed": counts["PASS"], "failed": counts["FAIL"], "skipped": counts["SKIP"], "exit": done.returncode}


def pytest_counts(junit):
    """(passed, failed, skipped) from pytest's JUnit XML."""
    suites = ElementTree.parse(junit).getroot()
    suites = [suites] if suites.tag == "testsuite" else list(suites)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return {"passed": total - failed - skipped, "failed": failed, "skipped": skipped}


def requirements(config, wheel):
    """What a configuration installs: the wheel with its backend's extra and
    the `test` extra (what the tests import: one list, pyproject.toml's), the
    configuration's pins and its extra packages."""
    return [f"{wheel}[{config['backend']},test]", *config["pins"], *config["extra_packages"]]


def run_config(config, wheel, out_root):
    started = time.monotonic()
    out = out_root / config["name"]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log = out / "log.txt"
    result = {"name": config["name"], "backend": config["backend"], "python": config["python"]}
    try:
        phase = time.monotonic()
        bin_dir = make_env(out / "venv", interpreter(config["python"]), requirements(config, wheel), log)
        versions = installed(bin_dir)
        result["versions"] = {k: versions.get(k) for k in ("keras", "numpy", "tensorflow", "tf-keras", "jax",
                                                           "jaxlib", "optax", "torch") if versions.get(k)}
        check_only_its_backend(bin_dir, config["backend"])
        result["seconds"] = {"install": round(time.monotonic() - phase)}
        phase = time.monotonic()
        result["verification"] = {dtype: verification(bin_dir, config["backend"], dtype, out, log)
                                  for dtype in ("float64", "float32")}
        result["seconds"]["verification"] = round(time.monotonic() - phase)
        phase = time.monotonic()
        junit = out / "pytest.xml"
        # From outside the checkout, so that the tests (and the Python
        # processes they start) import the installed wheel, not the sources.
        # The fast tier (`make test`'s): what a release can change in this
        # package's behaviour; the slow tier's processes and long runs check
        # this package's own logic, on the releases make check installs.
        # Under the configuration's backend, the backend-neutral tests too.
        run([bin_dir / "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "--rootdir", ROOT,
             "-c", ROOT / "pyproject.toml", "-m", TIER, *(ROOT / t for t in config["tests"]),
             *(f"--ignore={ROOT / t}" for t in config["ignored_tests"])],
            log, env=clean_env(KERAS_BACKEND=config["backend"], KERAS_OPTIMS_ONCE=config["backend"]), cwd=out,
            check=False)
        result["tests"] = pytest_counts(junit) if junit.exists() else {"passed": 0, "failed": 1, "skipped": 0}
        result["seconds"]["tests"] = round(time.monotonic() - phase)
        result["ok"] = (result["tests"]["failed"] == 0 and result["tests"]["passed"] > 0
                        and all(v["failed"] == 0 and v["exit"] == 0 for v in result["verification"].values()))
    except Exception as error:  # recorded, and the matrix goes on
        result["ok"], result["error"] = False, str(error)
    finally:
        shutil.rmtree(out / "venv", ignore_errors=True)  # several GB with torch; the cache keeps the files
    result["minutes"] = round((time.monotonic() - started) / 60, 1)
    return result


README_EXAMPLE = re.compile(r"^## Use\n.*?```python\n(.*?)```", re.S | re.M)
PROVE_IT = re.compile(r"^## Prove it\n+```sh\n(.*?)\n```", re.S | re.M)


def check_distribution(wheel, backend, out_root):
    """The wheel with only [backend], outside the checkout (see the module
    docstring); returns what was checked."""
    started = time.monotonic()
    out = out_root / f"wheel-{backend}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log = out / "log.txt"
    result = {"name": f"{Path(wheel).name}[{backend}]", "backend": backend}
    with tempfile.TemporaryDirectory(prefix=f"keras-optims-{backend}-") as home:
        home = Path(home)
        try:
            bin_dir = make_env(home / "venv", sys.executable, [f"{wheel}[{backend}]"], log)
            env = clean_env(KERAS_HOME=str(home / "keras-home"))
            versions = installed(bin_dir)
            result["versions"] = {k: versions[k] for k in ("keras", "numpy", "tensorflow", "tf-keras", "jax", "optax", "torch")
                                  if k in versions}
            result["tensorflow_installed"] = importable(bin_dir, "tensorflow")
            if result["tensorflow_installed"] != (backend == "tensorflow"):
                raise RuntimeError(f"[{backend}] {'brought' if result['tensorflow_installed'] else 'lacks'} TensorFlow")
            no_backend = subprocess.run([str(bin_dir / "python"), "-c", "import keras_optims"], cwd=home,
                                        env=env, capture_output=True, text=True)
            if backend == "tensorflow":  # Keras's default backend: the import works with none chosen
                result["error_without_backend"] = ""
                if no_backend.returncode != 0:
                    raise RuntimeError(f"import keras_optims with [tensorflow] failed: {no_backend.stderr[-800:]}")
            else:
                result["error_without_backend"] = no_backend.stderr.strip().splitlines()[-1] if no_backend.stderr else ""
                if no_backend.returncode == 0 or "keras-optims[tensorflow]" not in no_backend.stderr:
                    raise RuntimeError(f"import keras_optims without TensorFlow and without KERAS_BACKEND did not "
                                       f"name the extra: {no_backend.stderr[-800:]}")
            example = home / "example.py"
            example.write_text(README_EXAMPLE.search((ROOT / "README.md").read_text()).group(1))
            run([bin_dir / "python", example], log, env={**env, "KERAS_BACKEND": backend}, cwd=home)
            result["readme_example"] = "ran"
            # README's "Prove it" command, as a user of this one extra runs it:
            # the other backends are named with their extras and skipped.
            path = out / "verification.json"
            command = PROVE_IT.search((ROOT / "README.md").read_text()).group(1).split()
            run([bin_dir / "python", *command[1:], "--json", path], log, env=env, cwd=home)
            runs = {r["backend"]: r for r in json.loads(path.read_text())["runs"]}
            others = [b for b in runs if b != backend]
            if any("pip install" not in runs[b].get("skipped", "") for b in others):
                raise RuntimeError(f"{' '.join(command)} did not skip {others} naming their extras: {runs}")
            counts = runs[backend]["counts"]
            result["verification"] = {"passed": counts["PASS"], "failed": counts["FAIL"], "skipped": counts["SKIP"]}
            result["ok"] = counts["FAIL"] == 0
        except Exception as error:
            result["ok"], result["error"] = False, str(error)
    result["minutes"] = round((time.monotonic() - started) / 60, 1)
    return result


def distribution_table(distributions):
    """The distribution checks as Markdown lines."""
    lines = ["| distribution check | versions | TensorFlow installed | `import keras_optims`, no backend chosen | "
             "README example | README's Prove it | minutes |", "| --- | --- | --- | --- | --- | --- | ---: |"]
    for r in distributions:
        if r["backend"] == "tensorflow":
            named = "works (TensorFlow is Keras's default)" if r.get("ok") else "—"
        else:
            named = "names the extra" if "keras-optims[tensorflow]" in r.get("error_without_backend", "") else "—"
        installed_tf = {True: "yes", False: "no"}.get(r.get("tensorflow_installed"), "—")
        lines.append(f"| {r['name']}{'' if r['ok'] else ' **FAILED**'} | {listed(r.get('versions'))} | "
                     f"{installed_tf} | {named} | {r.get('readme_example', '—')} | "
                     f"{counts(r.get('verification'))} | {r['minutes']} |")
    return lines


def build(out_root):
    """sdist, then the wheel built from it; twine check on both."""
    dist = out_root / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    log = out_root / "build.txt"
    log.write_text("")
    run([sys.executable, "-m", "build", "--outdir", dist, ROOT], log, env=clean_env())
    files = sorted(dist.iterdir())
    run([sys.executable, "-m", "twine", "check", "--strict", *files], log)
    wheel = next(f for f in files if f.suffix == ".whl")
    return wheel, {f.name: f.stat().st_size for f in files}


def counts(v):
    return f"{v['passed']} passed, {v['failed']} failed, {v['skipped']} skipped" if v else "—"


def listed(versions):
    return ", ".join(f"{k} {v}" for k, v in (versions or {}).items())


def markdown(summary):
    lines = ["| configuration | python | versions | tests passed | failed | skipped | verification float64 | "
             "verification float32 | minutes |", "| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: |"]
    for r in summary["configs"]:
        tests = r.get("tests", {"passed": "—", "failed": "—", "skipped": "—"})
        ver = r.get("verification", {})
        lines.append(f"| {r['name']}{'' if r['ok'] else ' **FAILED**'} | {r['python']} | {listed(r.get('versions'))} | "
                     f"{tests['passed']} | {tests['failed']} | {tests['skipped']} | {counts(ver.get('float64'))} | "
                     f"{counts(ver.get('float32'))} | {r['minutes']} |")
    if summary.get("distributions"):
        lines += [""] + distribution_table(summary["distributions"])
    if summary.get("sizes"):
        lines += ["", "| file | bytes |", "| --- | ---: |"] + [f"| {n} | {s:,} |" for n, s in summary["sizes"].items()]
    errors = [f"- {r['name']}: {r['error']}" for r in summary["configs"] + summary.get("distributions", []) if "error" in r]
    return "\n".join(lines + ([""] + errors if errors else [])) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="NAME", help="run the configurations whose name contains NAME")
    parser.add_argument("--skip-dists", action="store_true", help="leave out the distribution checks")
    parser.add_argument("--out", default=str(ROOT / ".compat"), help="where results go (default .compat/)")
    parser.add_argument("--jobs", type=int, default=2, help="configurations run side by side (default 2)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    # Each job gets its share of the cores (the Makefile's lanes likewise):
    # PyTorch's and TensorFlow's thread pools, each sized to the machine,
    # would otherwise spin against the other job's. A value set is kept.
    share = str(max(1, (os.cpu_count() or 1) // args.jobs))
    for variable in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ.setdefault(variable, share)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    wheel, sizes = build(out)
    print(f"built {', '.join(f'{n} ({s:,} bytes)' for n, s in sizes.items())}; twine check passed", flush=True)
    configs = [c for c in load_matrix() if not args.only or args.only in c["name"]]
    jobs = [(c["name"], functools.partial(run_config, c, wheel, out)) for c in configs]
    if not args.skip_dists:
        jobs += [(f"wheel[{b}]", functools.partial(check_distribution, wheel, b, out)) for b in ("jax", "torch")]
    results = {}
    # Several at a time (--jobs): each is mostly one Python process waiting
    # on its own tests; the longest (TensorFlow's) start first.
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        running = {pool.submit(job): name for name, job in jobs}
        for done in concurrent.futures.as_completed(running):
            result = results[running[done]] = done.result()
            print(f"{running[done]}: {'ok' if result['ok'] else 'FAILED'} ({result['minutes']} min: "
                  f"{result.get('seconds', {})} s) tests {result.get('tests', '-')} "
                  f"{result.get('error', '')[:2000]}", flush=True)
    summary = {"sizes": sizes, "jobs": args.jobs,
               "configs": [results[c["name"]] for c in configs],
               "distributions": [results[name] for name, _ in jobs if name.startswith("wheel[")]}
    summary["minutes"] = round((time.monotonic() - started) / 60, 1)
    (out / "compat.json").write_text(json.dumps(summary, indent=2))
    (out / "compat.md").write_text(markdown(summary))
    print("\n" + markdown(summary) + f"\ncompat: {summary['minutes']} min; {out / 'compat.md'}")
    ok = all(r["ok"] for r in summary["configs"] + summary["distributions"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
