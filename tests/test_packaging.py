"""Packaging basics: one version, a changelog, a license, and dependency
bounds that say which releases are tested."""

import importlib.metadata
import re

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import keras_optims
from support import requires

pytestmark = pytest.mark.once  # the metadata and the matrix: the same under every backend

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
# the newest minor release that is tested.
CAPPED = ("keras", "tensorflow", "tf-keras", "jax", "torch")
# Which configurations of the matrix install a requirement: the core ones
# every configuration, an extra's only its backend's.
BACKEND_EXTRAS = ("tensorflow", "jax", "torch")


def requirements():
    """{name: (Requirement, the backends whose configurations install it)}."""
    project = PYPROJECT["project"]
    found = {Requirement(r).name: (Requirement(r), BACKEND_EXTRAS) for r in project["dependencies"]}
    for extra in BACKEND_EXTRAS:
        for r in project["optional-dependencies"][extra]:
            found[Requirement(r).name] = (Requirement(r), (extra,))
    return found


def matrix():
    return tomllib.loads((ROOT / "tests" / "compat" / "matrix.toml").read_text())["config"]


def pins(config):
    return {Requirement(p).name: Requirement(p).specifier for p in config["pins"]}


def bound(requirement, operator):
    versions = [Version(s.version) for s in requirement.specifier if s.operator == operator]
    assert len(versions) <= 1, f"{requirement}: more than one {operator} bound"
    return versions[0] if versions else None


def test_every_backend_has_a_lowest_and_a_newest_configuration_and_the_newest_on_python_313():
    names = sorted(c["name"] for c in matrix())
    assert names == sorted(f"{b}-{end}" for b in BACKEND_EXTRAS for end in ("lowest", "newest", "newest-py313"))
    for backend in BACKEND_EXTRAS:
        newest, py313 = (next(c for c in matrix() if c["name"] == f"{backend}-{end}") for end in ("newest", "newest-py313"))
        assert py313["python"] == "3.13" and py313["pins"] == newest["pins"]
        assert py313.get("tests") == newest.get("tests")
    for config in matrix():
        assert config["name"].startswith(config["backend"] + "-")


@pytest.mark.parametrize("name", sorted(requirements()))
def test_both_ends_of_each_range_are_in_the_matrix(name):
    """Before: pyproject.toml admitted one minor release of each, and nothing
    tested another. Lowest configurations pin the floor exactly; newest ones
    pin the newest minor release under the cap (`==X.Y.*`) or, without a cap,
    leave the newest release to the resolver."""
    requirement, backends = requirements()[name]
    floor, cap = bound(requirement, ">="), bound(requirement, "<")
    assert floor is not None, f"{requirement} needs a lower bound"
    for config in matrix():
        if config["backend"] not in backends:
            assert name not in pins(config), f"{config['name']} pins {name}, which its extra does not install"
            continue
        pinned = pins(config).get(name)
        if config["name"].endswith("-lowest"):
            assert pinned is not None and [(s.operator, Version(s.version)) for s in pinned] == [("==", floor)], (
                f"{config['name']} must pin {name}=={floor}, the floor of {requirement}")
        elif cap is None:
            assert pinned is None, f"{config['name']}: {name} has no cap, so its newest release is the resolver's"
        else:
            newest_minor = (cap.major, cap.minor - 1)
            assert cap.micro == 0 and cap.minor >= 1, f"{requirement}: caps sit at a minor release"
            assert pinned is not None and [s.operator for s in pinned] == ["=="], f"{config['name']} must pin {name}"
            spec = next(iter(pinned)).version
            assert spec == f"{newest_minor[0]}.{newest_minor[1]}.*", (
                f"{config['name']} must pin {name}=={newest_minor[0]}.{newest_minor[1]}.*, the newest minor under {cap}")


def test_the_python_range_is_tested_at_its_floor():
    """Before: requires-python said >=3.10, which keras 3.13+ does not allow."""
    floor = Version(PYPROJECT["project"]["requires-python"].removeprefix(">="))
    tested = {Version(c["python"]) for c in matrix()}
    assert min(tested) == floor
    assert all(c["python"] == str(floor) for c in matrix() if c["name"].endswith("-lowest"))
    classifiers = {c.rsplit(" ", 1)[1] for c in PYPROJECT["project"]["classifiers"]
                   if c.startswith("Programming Language :: Python :: 3.")}
    assert classifiers == {c["python"] for c in matrix()}, "the classifiers name the tested Pythons"


@pytest.mark.parametrize("name", CAPPED)
def test_packages_whose_private_names_are_used_are_capped(name):
    """Before: keras had no upper bound, so a new Keras with other private
    names would install under an untested keras-optims."""
    requirement, _ = requirements()[name]
    assert bound(requirement, "<") is not None, f"{name} needs one upper bound: {requirement}"


@pytest.mark.parametrize("name", sorted(requirements()))
def test_what_is_installed_here_is_in_range(name):
    requirement, _ = requirements()[name]
    try:
        installed = Version(importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{name} is not installed here")
    assert requirement.specifier.contains(installed, prereleases=True), (requirement, installed)


def test_the_core_install_is_keras_and_numpy_and_each_backend_an_extra():
    """Before: TensorFlow and tf-keras were dependencies of every install."""
    project = PYPROJECT["project"]
    assert sorted(Requirement(r).name for r in project["dependencies"]) == ["keras", "numpy"]
    extras = project["optional-dependencies"]
    assert sorted(Requirement(r).name for r in extras["tensorflow"]) == ["tensorflow", "tf-keras"]
    assert "jax" in {Requirement(r).name for r in extras["jax"]}
    assert {Requirement(r).name for r in extras["torch"]} == {"torch"}


def compat_runner():
    """tests/compat/run.py, imported."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("compat_run", ROOT / "tests" / "compat" / "run.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    return runner


def test_the_compat_runner_reads_every_configuration_and_its_tests_exist():
    """Each configuration of make test-compat runs tests that exist (a
    renamed module would otherwise drop out of the matrix unnoticed)."""
    runner = compat_runner()
    configs = runner.load_matrix()
    assert [c["name"] for c in configs] == [c["name"] for c in matrix()]
    for config in configs:
        assert config["tests"] and all((ROOT / t).exists() for t in config["tests"]), config["name"]
        # The tests' own requirements (pyproject's `test` extra) go in with
        # the wheel: a list kept here beside it once missed hypothesis.
        wheel_requirement = Requirement(runner.requirements(config, "keras_optims")[0])
        assert wheel_requirement.extras == {config["backend"], "test"}, config["name"]
    assert runner.LIBRARIES.keys() == set(BACKEND_EXTRAS)  # the stray-backend check knows every backend


@requires("tensorflow", "jax", "torch")  # make check's environment, with every backend
def test_a_configuration_runs_fewer_tests_only_where_make_test_runs_them_all_on_its_releases():
    """tests/compat/matrix.toml gives tensorflow-newest and jax-newest (and
    their Python 3.13 twins, which add the interpreter) fewer tests than the
    whole selection because `make check` runs every test on the same
    releases; that holds while this environment's releases are the
    ones they pin (a pin moved, or a capped range widened, ends it)."""
    runner = compat_runner()
    reduced = []
    for config in runner.load_matrix():
        if config["tests"] == runner.whole_selection(config["backend"]):
            continue
        reduced.append(config["name"])
        for pin in map(Requirement, config["pins"]):
            installed = importlib.metadata.version(pin.name)
            assert pin.specifier.contains(installed), (
                f"{config['name']} pins {pin} but make check runs {pin.name} {installed}: give it the whole selection")
    assert reduced == ["tensorflow-newest", "tensorflow-newest-py313", "jax-newest", "jax-newest-py313"]
