"""Every tutorial in docs/tutorials runs from top to bottom on the current
Keras backend; each asserts what its text claims, so running it checks it.
Under JAX `make docs` runs them (docs/hooks.py, the site's build): here
under TensorFlow and PyTorch, so that each runs once on each backend; the
assignment's tutorial only there, since its runs are test_assignment.py's."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

pytestmark = pytest.mark.slow  # each tutorial runs in its own process

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "docs" / "tutorials").glob("*.py"))


def test_there_are_tutorials():
    assert TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(path, tmp_path):
    if keras.backend.backend() == "jax":
        pytest.skip("make docs runs every tutorial under JAX, the site's build backend (Makefile DOCS_BACKEND)")
    if path.stem == "course_assignment":
        # Its two runs' first 1001 epochs and their printed costs are two of
        # the seven that test_assignment.py runs through the example on every
        # backend; the tutorial's own code runs in the site's build.
        pytest.skip("its runs are test_assignment.py's; make docs runs the tutorial under JAX")
    environment = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(path)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
