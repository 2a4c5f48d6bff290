"""The workflows a maintainer pushes (.github/workflows/), checked offline by
the linters the field uses for them: actionlint (syntax, expressions, job
graph) and zizmor's security audit (template injection, actions pinned to a
commit, least-privilege permissions, credentials, trusted publishing), at its
pedantic persona; and every `make TARGET` they run exists in the Makefile.
Each check is shown to fail on a planted slip. The workflows cannot run here:
CONTRIBUTING.md, "The workflows", says what each is expected to do."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # files and two linters: the same under every backend

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def tool(name):
    """The linter `name` from this environment's `lint` group (make test
    installs it), else skip: a configuration of the version matrix has only
    its backend and the test tools."""
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if found is None:
        pytest.skip(f"needs {name} (pyproject.toml's lint group; make test installs it)")
    return found


def actionlint(*paths):
    return subprocess.run([tool("actionlint"), "-no-color", *map(str, paths)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def zizmor(*paths):
    return subprocess.run([tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress", *map(str, paths)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def makefile_targets():
    return set(re.findall(r"^([A-Za-z0-9_.-]+):(?!=)", (ROOT / "Makefile").read_text(), flags=re.M))


def make_targets_run(text):
    """The targets of every `make TARGET` in the workflow's text (its `run:`
    steps; comments left out)."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return re.findall(r"(?<![\w-])make\s+([A-Za-z0-9_.-]+)", code)


def test_there_are_the_three_workflows():
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "docs.yml", "release.yml"]


def test_actionlint_finds_nothing():
    done = actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmors_pedantic_audit_finds_nothing():
    done = zizmor(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_make_target_a_workflow_runs_exists():
    targets = makefile_targets()
    run = {target for path in WORKFLOWS for target in make_targets_run(path.read_text())}
    assert run, "the workflows run the Makefile's tiers"
    assert run <= targets, sorted(run - targets)
    # The tiers CI runs (make check's) are each a job.
    assert {"test-backend", "test-slow", "docs", "test-site", "test-compat", "release-check",
            "mutants-changed"} <= run


GOOD_JOB = """name: planted
on: [pull_request]
permissions: {}
concurrency:
  group: planted-${{ github.ref }}
  cancel-in-progress: true
jobs:
  job:
    name: the fast tier
    runs-on: ubuntu-24.04
    permissions:
      contents: read  # to check out the sources
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - run: make test
"""
SLIPS = {
    "template injection": GOOD_JOB.replace("run: make test", 'run: echo "${{ github.event.pull_request.title }}"'),
    "an action not pinned to a commit": GOOD_JOB.replace(
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "actions/checkout@v4"),
    "credentials left in the checkout": GOOD_JOB.replace("          persist-credentials: false\n", "          fetch-depth: 1\n"),
}


def test_the_planted_workflow_without_a_slip_passes_both(tmp_path):
    path = tmp_path / "planted.yml"
    path.write_text(GOOD_JOB)
    assert actionlint(path).returncode == 0 and zizmor(path).returncode == 0


@pytest.mark.parametrize("slip", SLIPS)
def test_zizmor_catches_a_planted_slip(tmp_path, slip):
    path = tmp_path / "planted.yml"
    path.write_text(SLIPS[slip])
    assert zizmor(path).returncode != 0, slip


def test_actionlint_catches_a_job_that_needs_a_missing_job(tmp_path):
    path = tmp_path / "planted.yml"
    path.write_text(GOOD_JOB.replace("    runs-on: ubuntu-24.04\n", "    needs: no-such-job\n    runs-on: ubuntu-24.04\n"))
    done = actionlint(path)
    assert done.returncode != 0 and "no-such-job" in done.stdout


def test_a_make_target_that_does_not_exist_is_caught():
    text = GOOD_JOB.replace("run: make test", "run: make test-everything  # make not-this-one")
    assert make_targets_run(text) == ["test-everything"]
    assert "test-everything" not in makefile_targets() and "test" in makefile_targets()
