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


def test_readme_decay_snippet_prints_what_it_says(capsys):
    block = next(b for b in readme_python_blocks() if "LearningRateLogger" in b)
    exec(block, {})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str([0.1, 0.1, 0.05, 0.05, 0.1 / 3, 0.1 / 3])
    assert len(eval(printed[1])) == 6  # noqa: S307


def test_readme_epoch_numbering_snippet_prints_what_it_says(capsys):
    block = next(b for b in readme_python_blocks() if "epoch_numbering=numbering" in b)
    exec(block, {})  # noqa: S102
    claimed = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    assert capsys.readouterr().out.splitlines() == claimed


def test_readme_error_messages_are_the_real_ones():
    quoted = re.findall(r">>> (keras_optims\.\w+\(.*?\))\n(\w+Error): (.*)\n", README.read_text())
    assert len(quoted) >= 2
    for call, error, message in quoted:
        with pytest.raises({"ValueError": ValueError, "TypeError": TypeError}[error]) as raised:
            eval(call, {"keras_optims": keras_optims})  # noqa: S307
        assert str(raised.value) == message


@pytest.mark.parametrize("name", SPECS)
def test_docstrings_state_rule_symbols_defaults_and_differences(name):
    doc = SPECS[name].cls.__doc__
    assert "W ← W − α" in doc
    assert "| symbol | argument" in doc
    assert "Differences from `keras.optimizers." in doc
    assert "{{" not in doc, "the shared argument documentation was not spliced in"
    for argument in SPECS[name].hyperparameters:
        assert f"{argument}:" in doc, f"{name} does not document {argument}"


def test_readme_verify_snippet_runs():
    block = next(b for b in readme_python_blocks() if "verify(" in b)
    exec(block, {})  # noqa: S102


def test_readme_verify_your_own_optimizer_snippet_runs(capsys):
    """The hand-written Adagrad passes its check and the planted mistake is
    caught at step 1, on every backend, as the README says."""
    block = next(b for b in readme_python_blocks() if "planted_mistake" in b)
    exec(block, {})  # noqa: S102
    printed = capsys.readouterr().out
    comment = block.split("print(report.first_failure)  # ")[1].split(", …")[0]
    assert printed.startswith(comment), (printed, comment)


def test_readme_pictures_exist_and_are_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert len(images) >= 6
    for image in images:
        path = README.parent / image
        assert path.is_file(), image
        assert path.stat().st_size < 200 * 1024, f"{image} is over 200 kB"


@pytest.mark.tensorflow
def test_readme_tf_keras_snippet_runs():
    block = next(b for b in readme_python_blocks() if "keras_optims.tf_keras" in b)
    exec(block, {})  # noqa: S102
