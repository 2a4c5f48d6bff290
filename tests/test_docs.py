"""The documentation matches the code: README snippets run, error messages
quoted in the README are the real ones, and every class documents its rule."""

import re
from pathlib import Path

import pytest

import keras_optims
from registry import SPECS

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_usage_snippet_runs():
    namespace = {}
    exec(readme_python_blocks()[0].replace("epochs=10", "epochs=1"), namespace)  # noqa: S102
    assert isinstance(namespace["model"].optimizer, keras_optims.Adam)


@pytest.mark.once
@pytest.mark.parametrize("name", SPECS)
def test_docstrings_state_rule_symbols_defaults_and_differences(name):
    doc = SPECS[name].cls.__doc__
    assert "W ← W − α" in doc
    assert "| symbol | argument" in doc
    assert "Differences from `keras.optimizers." in doc
    assert "{{" not in doc, "the shared argument documentation was not spliced in"
    for argument in SPECS[name].hyperparameters:
        assert f"{argument}:" in doc, f"{name} does not document {argument}"


def slug(heading):
    """The anchor of a Markdown heading, as MkDocs and GitHub make it."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower()))


@pytest.mark.once
def test_readme_links_and_pictures_lead_somewhere():
    """README is the front door: each link into the repository (the docs'
    pages, the changelog) names a file that exists, and a heading of it
    where it names one; each picture exists and is small."""
    text = README.read_text()
    links = re.findall(r"(?<!!)\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) >= 15
    for link in links:
        assert not link.startswith(("http:", "https:")), f"README links outside the repository: {link}"
        path, _, anchor = link.partition("#")
        target = README.parent / path
        assert target.is_file(), link
        if anchor:
            headings = re.findall(r"^#+ (.*)$", target.read_text(), re.M)
            assert anchor in {slug(h) for h in headings}, link
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images
    for image in images:
        path = README.parent / image
        assert path.is_file(), image
        assert path.stat().st_size < 200 * 1024, f"{image} is over 200 kB"


@pytest.mark.once
def test_readme_is_the_short_front_door():
    assert len(README.read_text().splitlines()) < 120


API_PAGES = sorted((README.parent / "docs" / "api").glob("*.md"))


def documented_names():
    """Every name the API reference documents: `::: module.Name` lines and
    the `members:` lists under a module's entry."""
    names = set()
    for page in API_PAGES:
        module = None
        for line in page.read_text().splitlines():
            entry = re.match(r"^::: ([\w.]+)$", line)
            if entry:
                module = entry[1]
                names.add(module)
            members = re.match(r"^\s+members: \[(.*)\]$", line)
            if members and module:
                names.update(f"{module}.{m.strip()}" for m in members[1].split(","))
    return names


def public_names():
    import keras_optims.callbacks
    import keras_optims.native
    import keras_optims.schedules
    import keras_optims.tf_keras
    import keras_optims.tuning
    import keras_optims.verification
    import keras_optims.verification.testing

    modules = [keras_optims.callbacks, keras_optims.schedules, keras_optims.tf_keras, keras_optims.tuning,
               keras_optims.verification, keras_optims.verification.testing, keras_optims.native]
    names = {f"keras_optims.{n}" for n in keras_optims.__all__ if n not in ("callbacks", "schedules")}
    for module in modules:
        names.update(f"{module.__name__}.{n}" for n in module.__all__)
    return names


@pytest.mark.tensorflow  # tf_keras and the native kernel are TensorFlow's
def test_every_public_name_has_an_api_reference_entry():
    missing = public_names() - documented_names()
    assert not missing, f"public names without an entry in docs/api/: {sorted(missing)}"
    assert len(public_names()) >= 30


@pytest.mark.tensorflow
def test_the_api_reference_check_can_fail(monkeypatch):
    import keras_optims.callbacks

    monkeypatch.setattr(keras_optims.callbacks, "__all__", [*keras_optims.callbacks.__all__, "Undocumented"])
    assert "keras_optims.callbacks.Undocumented" in public_names() - documented_names()
