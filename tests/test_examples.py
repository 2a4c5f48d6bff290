"""Every example runs with --quick from the command line and draws real pictures."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

pytestmark = pytest.mark.slow  # each example runs in its own process

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PICTURES = {
    "paths.py": ["paths_valley.png", "paths_beale.png", "paths_saddle.png"],
    "moons.py": ["moons.png"],
    "schedules.py": ["schedules.png"],
    "ewma.py": ["ewma.png"],
    "minibatch.py": ["minibatch.png", "decay.png"],
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    for script in PICTURES:
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(out)],
            capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, f"{script}: {done.stderr[-3000:]}"
    return out


@pytest.mark.parametrize("script", PICTURES)
def test_pictures_exist_open_and_are_not_blank(outputs, script):
    for name in PICTURES[script]:
        pixels = image.imread(outputs / name)
        assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 300, name
        rgb = pixels[..., :3]
        assert rgb.std() > 0.05, f"{name} is blank"
        assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50, f"{name} has almost no content"


def test_momentum_and_adam_end_closer_to_the_valley_minimum_than_gradient_descent(outputs):
    valley = json.loads((outputs / "paths.json").read_text())["valley"]
    steps = {row["steps"] for row in valley.values()}
    assert len(steps) == 1, "every optimizer must take the same number of steps"
    gd = valley["GradientDescent"]["distance_to_minimum"]
    assert valley["Momentum"]["distance_to_minimum"] < gd
    assert valley["Adam"]["distance_to_minimum"] < gd


def test_at_the_same_rate_momentum_zigzags_less_across_the_valley_and_ends_lower(outputs):
    """The course's lesson, as the valley picture must show it: the same α,
    close to where gradient descent zigzags, and momentum travels less
    across the valley (Σ|Δy|) and ends lower."""
    valley = json.loads((outputs / "paths.json").read_text())["valley"]
    gd, momentum = valley["GradientDescent"], valley["Momentum"]
    assert gd["learning_rate"] == momentum["learning_rate"]
    assert momentum["travel_across"] < 0.5 * gd["travel_across"]
    assert momentum["final_loss"] < gd["final_loss"]


def test_moons_reports_every_variant(outputs):
    """Every variant trains: its cost ends below the untrained network's (the
    one every variant starts from), and those that learn the moons within
    --quick's 60 epochs (Adam, and every variant with decay: 83–90% there)
    reach an accuracy the untrained network (40%) is far from."""
    results = json.loads((outputs / "moons.json").read_text())
    untrained = results.pop("untrained")
    assert set(results) == {f"{name}{decay}" for name in ("GradientDescent", "Momentum", "Adam")
                            for decay in ("", " + decay")}
    assert untrained["accuracy"] < 0.6
    for name, result in results.items():
        assert result["cost"] < untrained["cost"], name
        if name == "Adam" or name.endswith("+ decay"):
            assert result["accuracy"] >= 0.8, (name, result)


def test_minibatch_noise_shrinks_as_the_batch_grows_and_decay_settles(outputs):
    """The course's two lessons, as the pictures must show them: from B = 1
    to B = m the mini-batch cost moves less from one iteration to the next
    and the path comes closer to a straight line; decay leaves a tighter
    cloud in the last epoch than a fixed α."""
    results = json.loads((outputs / "minibatch.json").read_text())
    sizes = sorted((int(k.split("=")[1]) for k in results if k.startswith("B=")))
    assert sizes[0] == 1 and len(sizes) >= 3
    for small, large in zip(sizes, sizes[1:]):
        assert results[f"B={large}"]["jitter"] < results[f"B={small}"]["jitter"], (small, large)
        assert results[f"B={large}"]["wander"] < results[f"B={small}"]["wander"], (small, large)
    assert results["decay_rate=0.1"]["spread"] < results["decay_rate=0"]["spread"] / 2
    assert results["decay_rate=0.1"]["last_alpha"] < results["decay_rate=0"]["last_alpha"]
