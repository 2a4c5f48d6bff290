"""The mutation-testing list stays in step with the code (`make mutants`
runs it; it takes about 35 minutes, so the suite checks only that every slip
still applies and that the pages give its size)."""

import importlib.util
import re
from pathlib import Path

import pytest

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
    verification = (ROOT / "docs" / "verification.md").read_text()
    assert re.search(rf"plants {count} plausible slips\b", readme)
    assert f"all {count} are caught" in readme.replace("\n", " ")
    assert f"Score: {count} slips, {count} killed" in verification


def test_a_stale_slip_is_reported(tmp_path, monkeypatch):
    """The runner refuses a slip whose text is not in the code (before any
    check runs)."""
    stale = mutants.Slip("stale", "keras_optims/rules.py", "no such text", "x", SLIPS[0].check, "why")
    pristine = tmp_path / "pristine"
    mutants.copy_project(pristine, ["keras_optims/rules.py"])
    outcome = mutants.try_slip(stale, ["keras_optims/rules.py"], tmp_path)
    assert outcome.status == "stale" and "not found" in outcome.detail[0]
