"""What a user of each extra gets: `pip install "keras-optims[jax]"` (or
`[torch]`, `[tensorflow]`) and nothing else. A backend whose library is
missing ends in one error naming the extra; the verification CLI runs on
the backend it is given, without KERAS_BACKEND and without TensorFlow; a
verification row whose peer library is missing or broken is skipped with
its reason. (`make test-compat` does the same from the built wheel in
environments that really lack the other backends.)"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import keras
from keras_optims import compat
from keras_optims.verification import equivalences, suite
from support import requires

BACKEND = keras.backend.backend()
ROOT = Path(__file__).resolve().parent.parent
LIBRARY = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def python(code, tmp_path, *, backend=None, argv=(), **env):
    """Runs `code` (or, with `argv`, a command) in a new process with
    KERAS_BACKEND set to `backend` (or unset) and a Keras home of its own
    (no keras.json chooses a backend)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_ENABLE_X64")}
    environment.update(KERAS_HOME=str(tmp_path / "keras-home"), **env)
    if backend:
        environment["KERAS_BACKEND"] = backend
    command = list(argv) or [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment, cwd=tmp_path)


def not_installed(*modules):
    """Code that makes `modules` look not installed to every import and to
    other libraries' probes: the import system finds no such module
    (ModuleNotFoundError), and nothing is put in sys.modules (SciPy, which
    JAX imports, reads ``sys.modules["torch"]`` when it is there)."""
    return textwrap.dedent(f"""\
        import importlib.abc, sys

        class NotInstalled(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {set(modules)!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        """)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_a_backend_whose_library_is_missing_names_the_extra(backend, tmp_path):
    """Before: `import keras_optims` under a backend that is not installed
    ended in Keras's own traceback ("No module named 'tensorflow'"), which
    does not say that keras-optims needs an extra."""
    done = python(not_installed(LIBRARY[backend]) + "import keras_optims\n", tmp_path,
                  backend=None if backend == "tensorflow" else backend)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: Keras's backend is"), done.stderr[-2000:]
    assert f'pip install "keras-optims[{backend}]"' in last
    source = "Keras's default; KERAS_BACKEND is not set" if backend == "tensorflow" else "KERAS_BACKEND"
    assert f"{backend!r} ({source})" in last


@pytest.mark.slow
def test_the_backend_chosen_in_keras_json_is_the_one_checked(tmp_path):
    home = tmp_path / "keras-home"
    home.mkdir()
    (home / "keras.json").write_text(json.dumps({"backend": "torch"}))
    done = python(not_installed("torch") + "import keras_optims\n", tmp_path)
    assert "Keras's backend is 'torch'" in done.stderr and str(home / "keras.json") in done.stderr, done.stderr[-2000:]


@pytest.mark.slow
def test_the_tf_keras_flavour_without_tf_keras_names_the_extra(tmp_path):
    done = python(not_installed("tf_keras") + "import keras_optims.tf_keras\n", tmp_path, backend=BACKEND)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: keras_optims.tf_keras needs tf-keras"), done.stderr[-2000:]
    assert 'pip install "keras-optims[tensorflow]"' in last


def planted_tensorflow(tmp_path):
    """A folder for PYTHONPATH whose `tensorflow` fails to import, as a
    TensorFlow that is not there would: the run fails if anything imports
    it."""
    package = tmp_path / "no-tensorflow" / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('planted: TensorFlow is not installed here')\n")
    return str(package.parent)


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "tensorflow", reason="the CLI on a backend other than TensorFlow")
@pytest.mark.parametrize("entry", ["python -m", "console script"])
def test_the_cli_runs_on_the_backend_it_is_given_without_keras_backend_or_tensorflow(entry, tmp_path):
    """Before: `python -m keras_optims.verification --backend jax` imported
    Keras, which imported TensorFlow (its default), before the argument was
    read: ModuleNotFoundError without TensorFlow unless KERAS_BACKEND was
    set too."""
    out = tmp_path / "run.json"
    command = ([sys.executable, "-m", "keras_optims.verification"] if entry == "python -m"
               else [str(Path(sys.executable).with_name("keras-optims-verify"))])
    done = python(None, tmp_path, argv=[*command, "--backend", BACKEND, "--only", "schedule", "--steps", "5",
                                        "--json", str(out)], PYTHONPATH=planted_tensorflow(tmp_path))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    payload = json.loads(out.read_text())
    assert payload["backend"] == BACKEND and payload["passed"] and payload["counts"]["PASS"] > 0
    assert f"on the {BACKEND} backend" in done.stdout


def broken_module(tmp_path, monkeypatch):
    """An importable name whose import fails (a broken install)."""
    (tmp_path / "broken_peer.py").write_text("raise RuntimeError('planted: this install is broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "broken_peer"


def test_a_row_whose_peer_is_missing_or_broken_is_skipped_with_its_reason_and_the_run_goes_on(tmp_path, monkeypatch):
    """Before: a peer library that was installed but did not import (tf_keras
    beside a TensorFlow that does not import) aborted the whole run."""
    working = next(e for e in equivalences.EQUIVALENCES if e.id == "keras-adam")
    missing = equivalences.Equivalence("missing", "a claim about a missing library", "-", working.run,
                                       needs="no_such_library_here")
    broken = equivalences.Equivalence("broken", "a claim about a broken library", "-", working.run,
                                      needs=broken_module(tmp_path, monkeypatch))
    assert equivalences.unavailable(missing) == "no_such_library_here is not installed"
    assert equivalences.unavailable(broken) == ("broken_peer cannot be imported: "
                                                "RuntimeError: planted: this install is broken")
    assert equivalences.unavailable(working) is None
    monkeypatch.setattr(equivalences, "EQUIVALENCES", [missing, broken, working])
    rows = list(suite.equivalence_rows(10, "float64", 0))
    assert [(r.status, r.note) for r in rows[:2]] == [
        ("SKIP", "no_such_library_here is not installed"),
        ("SKIP", "broken_peer cannot be imported: RuntimeError: planted: this install is broken"),
    ]
    assert rows[2].status == "PASS" and rows[2].case == working.claim


def test_release_reads_installed_versions():
    assert compat.release("keras") == tuple(int(p) for p in keras.__version__.split(".")[:3])
    assert compat.release("no-such-distribution-here") is None


@pytest.mark.slow
def test_the_installation_page_quotes_the_real_error(tmp_path):
    """docs/installation.md quotes the error of a JAX user without
    TensorFlow and without KERAS_BACKEND."""
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        pytest.skip("the quoted message names jax as the installed backend")
    page = (Path(__file__).resolve().parents[1] / "docs" / "installation.md").read_text()
    quoted = next(line for line in page.splitlines() if line.startswith("ModuleNotFoundError: Keras's backend"))
    done = python(not_installed("tensorflow") + "import keras_optims\n", tmp_path)
    assert done.stderr.strip().splitlines()[-1] == quoted


@pytest.mark.slow
@pytest.mark.once  # hides two backends itself
@requires("jax")
def test_readmes_prove_it_command_passes_after_a_one_extra_install(tmp_path):
    """README's "Prove it" command where only JAX is installed (TensorFlow,
    tf_keras and PyTorch unimportable in every process it starts) and no
    KERAS_BACKEND is set: it runs JAX, names the other two with their
    extras, counts them as skipped and exits 0. (Before, it started
    TensorFlow and failed.) One section keeps it short; `make test-compat`
    runs the whole command from wheels with only [jax] and only [torch]."""
    import re

    command = re.search(r"^## Prove it\n+```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.M | re.S).group(1)
    assert command == "python -m keras_optims.verification --backend all"
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(not_installed("tensorflow", "tf_keras", "torch"))
    path = tmp_path / "all.json"
    argv = [sys.executable, *command.split()[1:], "--only", "schedule", "--steps", "10", "--json", str(path)]
    done = python("", tmp_path, argv=argv,
                  PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert 'tensorflow: skipped: TensorFlow is not installed (pip install "keras-optims[tensorflow]")' in done.stdout
    assert 'torch: skipped: PyTorch is not installed (pip install "keras-optims[torch]")' in done.stdout
    runs = json.loads(path.read_text())["runs"]
    assert [("skipped" in r, r["passed"]) for r in runs] == [(True, True), (False, True), (True, True)]
    assert runs[1]["backend"] == "jax" and runs[1]["counts"]["PASS"] > 0 and runs[1]["counts"]["FAIL"] == 0
