"""The mutation-testing list stays in step with the code (`make mutants`
runs it; it takes about 31 minutes, so the suite checks only that every slip
still applies, that the pages give its size, and how CI picks the slips of
changed files)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # text and the runner's logic: the same under every backend

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutants_run", ROOT / "tests" / "mutants" / "run.py")
mutants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutants)
SLIPS = mutants.load()


@pytest.mark.parametrize("slip", SLIPS, ids=[s.id for s in SLIPS])
def test_each_slip_still_applies_once(slip):
    text = (ROOT / slip.file).read_text()
    assert text.count(slip.find) == 1, f"{slip.id}: update its text in tests/mutants/slips.toml"
    assert slip.replace != slip.find and slip.why


def test_the_pages_give_the_number_of_slips():
    count = len(SLIPS)
    readme = (ROOT / "README.md").read_text()
    verification = (ROOT / "docs" / "verification.md").read_text().replace("\n", " ")
    contributing = (ROOT / "CONTRIBUTING.md").read_text().replace("\n", " ")
    assert re.search(rf"plants {count} plausible slips\b", readme)
    assert f"all {count} are caught" in readme.replace("\n", " ")
    assert f"all {count} slips are caught" in verification
    assert f"Score at the last full run: {count} slips, {count} killed" in contributing


def test_a_stale_slip_is_reported(tmp_path, monkeypatch):
    """The runner refuses a slip whose text is not in the code (before any
    check runs)."""
    stale = mutants.Slip("stale", "keras_optims/rules.py", "no such text", "x", SLIPS[0].check, "why")
    pristine = tmp_path / "pristine"
    mutants.copy_project(pristine, ["keras_optims/rules.py"])
    outcome = mutants.try_slip(stale, ["keras_optims/rules.py"], tmp_path)
    assert outcome.status == "stale" and "not found" in outcome.detail[0]


def test_the_copy_is_laid_out_as_installed(tmp_path):
    """A slip in callbacks/ or verification/ must reach the code the checks
    import as keras_optims.callbacks and keras_optims.verification: in the
    copy, those are links to the copy's folders (pyproject.toml's
    package-dir), not the editable install's."""
    files = ["callbacks/ewma.py", "verification/reference/optimizers.py"]
    mutants.copy_project(tmp_path, files)
    assert mutants.package_dir() == {"keras_optims.callbacks": "callbacks", "keras_optims.verification": "verification"}
    for name, installed in zip(files, ["keras_optims/callbacks/ewma.py", "keras_optims/verification/reference/optimizers.py"]):
        assert (tmp_path / installed).resolve() == (tmp_path / name).resolve()


@pytest.mark.slow  # two Python processes that import Keras
@pytest.mark.parametrize("linked", [True, False])
def test_the_baseline_refuses_a_copy_whose_modules_load_from_elsewhere(tmp_path, linked):
    """The check run before any slip: with the links, every package loads
    from the copy; without them (the slip the links are for),
    keras_optims.callbacks loads from the tree and the check fails."""
    files = [f for f in mutants.project_files() if f.split("/")[0] in ("keras_optims", "callbacks", "verification")]
    mutants.copy_project(tmp_path, files)
    if not linked:
        for package in mutants.package_dir():
            tmp_path.joinpath(*package.split(".")).unlink()
    done = subprocess.run([sys.executable, "-c", mutants.FROM_THE_COPY, str(tmp_path), *mutants.package_dir()],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True)
    assert done.returncode == (0 if linked else 1), done.stderr[-2000:]
    assert linked or "keras_optims.callbacks loads from" in done.stderr


def test_changed_selects_the_slips_whose_file_or_definition_changed(tmp_path):
    """`--changed` (CI): a slip is planted again when its file's text or the
    slip itself differs from the last full run, and only then."""
    first, second = [s for s in SLIPS if s.file == "keras_optims/rules.py"][:2]
    other = next(s for s in SLIPS if s.file != "keras_optims/rules.py")
    for slip in (first, other):
        mutants.copy_project(tmp_path, [slip.file])
    record = {"fingerprints": {s.id: mutants.fingerprint(s, tmp_path) for s in (first, second, other)}}
    assert mutants.changed([first, second, other], record, tmp_path) == []
    rules = tmp_path / first.file
    rules.write_text(rules.read_text() + "\n# a change\n")
    assert mutants.changed([first, second, other], record, tmp_path) == [first, second]  # both rules.py's
    edited = mutants.Slip(other.id, other.file, other.find, other.replace + " ", other.check, other.why)
    new = mutants.Slip("new", other.file, other.find, other.replace, other.check, other.why)
    assert mutants.changed([edited, new], record, tmp_path) == [edited, new]


def test_the_record_is_of_every_slip():
    """The last full run's record names every slip of slips.toml: a slip
    added since is planted by CI (`--changed`) until `make mutants` records
    again."""
    record = mutants.read_record()
    counted = sum(not s.equivalent for s in SLIPS)
    assert record["killed"] == f"{counted}/{counted}"
    assert set(record["fingerprints"]) == {s.id for s in SLIPS}


@pytest.mark.parametrize("argv, error", [
    (["--budget", "3"], "--budget takes a whole number >= 1, with --changed. Received: --budget 3"),
    (["--changed", "--budget", "0"], "Received: --budget 0"),
    (["--record", "--only", "ewma"], "--record needs a run of every slip"),
    (["--jobs", "0"], "--jobs must be >= 1. Received: --jobs 0"),
])
def test_bad_arguments_are_refused_by_name(argv, error, capsys):
    with pytest.raises(SystemExit) as raised:
        mutants.main(argv)
    assert raised.value.code == 2 and error in capsys.readouterr().err
