"""keras.distribution on JAX: DataParallel and ModelParallel over four host
devices (tests/keras_distribution.py, in its own process). Each slot lives
where its variable lives, and training matches one device."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest

pytestmark = pytest.mark.slow  # the script runs in its own process

SCRIPT = Path(__file__).with_name("keras_distribution.py")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if keras.backend.backend() != "jax":
        pytest.skip("keras.distribution's DataParallel and ModelParallel run on JAX")
    out = tmp_path_factory.mktemp("distribution") / "results.json"
    done = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(out.read_text())


def test_four_devices_each_optimizer_both_distributions(results):
    assert results["devices"] == 4
    assert {(r["optimizer"], r["distribution"]) for r in results["runs"]} == {
        (o, d) for o in ("momentum", "rmsprop", "adam") for d in ("data_parallel", "model_parallel")}
    assert all(r["iterations"] == 12 for r in results["runs"])


def test_every_slot_is_sharded_as_its_variable(results):
    for run in results["runs"]:
        for slot in run["slots"]:
            assert slot["slot_spec"] == slot["variable_spec"], (run["optimizer"], run["distribution"], slot)
    sharded = [s for r in results["runs"] if r["distribution"] == "model_parallel" for s in r["slots"]]
    assert sharded and all("model" in s["variable_spec"] for s in sharded)  # the layout map took effect


def test_training_matches_one_device(results):
    # float64; the batch's gradient is summed across devices in another order.
    for run in results["runs"]:
        assert run["difference"] < 1e-10, run
