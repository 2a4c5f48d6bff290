"""How the Makefile runs the suite: tiers chosen by markers, each in two
lanes side by side, each lane on its share of the cores, and the tests
marked `once` in exactly one backend's run (the Makefile, tests/conftest.py)."""

import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import conftest

ROOT = Path(__file__).resolve().parents[1]


def recipe(*arguments, target="test"):
    """What `make TARGET` would run (`make -n`), with these variables."""
    done = subprocess.run(["make", "-n", "-B", target, *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={k: v for k, v in os.environ.items() if k != "MAKEFLAGS"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.tensorflow  # reads the Makefile: once is enough
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("arguments, once", [((), "torch"), (("BESIDE=torch", "AFTER=jax"), "torch"),
                                             (("BESIDE=",), "tensorflow")], ids=["default", "ci", "one lane"])
def test_the_once_tests_run_in_one_of_the_lanes_and_each_lane_on_its_share(arguments, once):
    text = recipe(*arguments)
    lanes = [set(loop.split(";")[0].split()) for loop in text.split("for backend in ")[1:]
             if "-m pytest" in loop.split("done")[0]]
    assert len(lanes) == 2 and set.union(*lanes) <= {"tensorflow", "jax", "torch"}
    assert "tensorflow" in lanes[1]  # the foreground lane
    assert set(re.findall(r"KERAS_OPTIMS_ONCE=(\w+)", text)) == {once}
    assert once in set.union(*lanes)
    threads = {1 if (os.cpu_count() or 1) < 4 else (os.cpu_count() or 1) // 2}
    for variable in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        found = re.findall(rf"{variable}=\$\{{{variable}:-(\d+)\}}", text)
        assert len(found) == 2 and set(map(int, found)) == threads, (variable, found)


def collected(backend, once):
    """Which of three fake items the collection hook leaves unskipped when
    running under `backend` with KERAS_OPTIMS_ONCE=`once`."""
    class Item:
        def __init__(self, name, marker=None):
            self.name, self.marker, self.skipped = name, marker, False

        def get_closest_marker(self, name):
            return types.SimpleNamespace(name=name) if name == self.marker else None

        def add_marker(self, marker):
            self.skipped = True

    items = [Item("plain"), Item("tensorflow only", "tensorflow"), Item("once", "once")]
    saved = conftest.BACKEND, conftest.ONCE
    conftest.BACKEND, conftest.ONCE = backend, once
    try:
        conftest.pytest_collection_modifyitems(None, items)
    finally:
        conftest.BACKEND, conftest.ONCE = saved
    return {item.name for item in items if not item.skipped}


@pytest.mark.tensorflow
def test_once_tests_run_under_the_chosen_backend_only():
    assert collected("torch", "torch") == {"plain", "once"}
    assert collected("jax", "torch") == {"plain"}
    assert collected("tensorflow", "torch") == {"plain", "tensorflow only"}
    assert collected("tensorflow", "tensorflow") == {"plain", "tensorflow only", "once"}


@pytest.mark.slow
@pytest.mark.tensorflow
def test_an_unknown_once_backend_is_refused_by_name():
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                           str(ROOT / "tests" / "test_hyperparameters.py")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "KERAS_OPTIMS_ONCE": "numpy"})
    assert done.returncode != 0
    assert "KERAS_OPTIMS_ONCE must be one of 'tensorflow', 'jax', 'torch'. Received: KERAS_OPTIMS_ONCE='numpy'" in (
        done.stdout + done.stderr)


@pytest.mark.tensorflow  # reads the Makefile
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target, selection", [("test", "not slow and not exhaustive"), ("test-slow", "slow"),
                                               ("test-exhaustive", "exhaustive")])
def test_each_tier_selects_its_tests_by_marker_in_both_lanes(target, selection):
    text = recipe(target=target)
    runs = [line for line in text.split("KERAS_BACKEND=$backend")[1:] if "-m pytest" in line]
    assert len(runs) == 2 and all(f'-m "{selection}"' in run for run in runs), text


@pytest.mark.tensorflow
def test_ci_runs_make_check_and_make_check_runs_every_tier_but_the_exhaustive_one():
    """.ci/run runs `make check`; `make check` runs make test (README's
    command), the slow tier, the site and its check, the version matrix, the
    release's distributions and the changed slips; `make check-all` adds the
    rest."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line.startswith("make ")] == ["make check"]
    makefile = (ROOT / "Makefile").read_text()

    def steps(target):
        body = makefile.split(f"\n{target}:")[1].split("\n\n")[0]
        return [line.split("$(MAKE) ")[1].split()[0] for line in body.splitlines() if "$(MAKE) " in line]

    assert steps("check") == ["test", "test-slow", "docs", "test-site", "test-compat", "release-check", "mutants-changed"]
    assert makefile.split("\ncheck-all:")[1].split()[0] == "check"
    assert steps("check-all") == ["test-exhaustive", "mutants"]


@pytest.mark.tensorflow
def test_a_test_in_two_tiers_is_refused():
    class Item:
        nodeid = "tests/test_x.py::test_both"

        def get_closest_marker(self, name):
            return types.SimpleNamespace(name=name) if name in ("slow", "exhaustive") else None

    with pytest.raises(pytest.UsageError, match="test_both is marked both slow and exhaustive"):
        conftest.pytest_collection_modifyitems(None, [Item()])
