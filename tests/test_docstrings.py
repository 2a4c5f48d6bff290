"""Every example in a public docstring runs, on each backend: the ```python
blocks of the docstrings of the public names (the modules, what their
``__all__`` lists, and those classes' own public methods and properties), as
tests/test_pages.py runs the pages' blocks. An example asserts what the
text around it claims."""

import importlib
import inspect
import re
import textwrap

import keras
import pytest

MODULES = ["keras_optims", "keras_optims.schedules", "keras_optims.callbacks", "keras_optims.tuning", "keras_optims.verification",
           "keras_optims.verification.testing"]
if keras.backend.backend() == "tensorflow":  # the fused kernel and tf_keras are TensorFlow's (and import it)
    MODULES += ["keras_optims.native", "keras_optims.tf_keras"]
EXAMPLE = re.compile(r"^(?P<indent> *)```python\n(?P<code>.*?)^(?P=indent)```$", re.S | re.M)


def public_objects():
    """(dotted name, object) of every public name whose docstring users read."""
    found = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        found[module_name] = module
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            found.setdefault(f"{module_name}.{name}", value)
            if inspect.isclass(value):
                for member, attribute in vars(value).items():
                    if not member.startswith("_") and (inspect.isfunction(attribute) or isinstance(attribute, property)):
                        found.setdefault(f"{module_name}.{name}.{member}", attribute)
    return found


def examples(docstring):
    """The ```python blocks of a docstring, dedented."""
    return [textwrap.dedent(m["code"]) for m in EXAMPLE.finditer(inspect.cleandoc(docstring or ""))]


EXAMPLES = [(f"{name}[{i}]", code) for name, value in public_objects().items()
            for i, code in enumerate(examples(getattr(value, "__doc__", None)))]


@pytest.mark.once
def test_the_examples_are_found():
    names = {name.rsplit("[", 1)[0] for name, _ in EXAMPLES}
    assert {"keras_optims.verification.check", "keras_optims.verification.verify",
            "keras_optims.verification.testing", "keras_optims.callbacks.EWMA",
            "keras_optims.callbacks.TrajectoryRecorder", "keras_optims.tuning.find_learning_rate"} <= names, sorted(names)
    assert examples('Text.\n\n    Examples:\n        ```python\n        x = 1\n        ```\n') == ["x = 1\n"]


@pytest.mark.parametrize("name, code", EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_docstring_example_runs(name, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what an example writes stays in the test's folder
    exec(compile(code, name, "exec"), {"__name__": f"example_{name}"})  # noqa: S102
