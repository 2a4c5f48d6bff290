"""Packaging basics: one version, a changelog, a license, and dependency
bounds that say which releases are tested."""

import importlib.metadata
import re

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import keras_optims

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_lives_in_one_place():
    """Before: pyproject.toml and keras_optims/__init__.py each held it."""
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "keras_optims.__version__"}
    Version(keras_optims.__version__)  # a valid version
    assert importlib.metadata.version("keras-optims") == keras_optims.__version__


def test_the_changelog_starts_at_0_1_0_and_names_this_version():
    """Before: there was no changelog."""
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## (\S+)", text, flags=re.MULTILINE)
    assert headings[0] == keras_optims.__version__
    assert headings[-1] == "0.1.0"


def test_the_license_is_the_text_pyproject_declares():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


# The packages whose private names the code uses: each is capped just above
# the minor release that is installed and tested.
CAPPED = {"tensorflow": "dependencies", "tf-keras": "dependencies", "keras": "dependencies",
          "jax": "jax", "torch": "torch"}


def requirements():
    listed = PYPROJECT["project"]["dependencies"] + [
        r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra
    ]
    return {Requirement(r).name: Requirement(r) for r in listed}


@pytest.mark.parametrize("name", sorted(CAPPED))
def test_dependencies_are_capped_at_the_tested_release(name):
    """Before: keras had no upper bound, so a new Keras with other private
    names would install under an untested keras-optims."""
    requirement = requirements()[name]
    caps = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
    assert len(caps) == 1, f"{name} needs one upper bound: {requirement}"
    try:
        installed = Version(importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{name} is not installed here")
    assert requirement.specifier.contains(installed, prereleases=True), (requirement, installed)
    assert caps[0].release[:2] == (installed.major, installed.minor + 1), (
        f"the cap of {name} ({caps[0]}) should sit just above the tested {installed}"
    )
