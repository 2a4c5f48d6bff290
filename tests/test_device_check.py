"""benchmarks/device_check.py, as the GPU machine runs it but on this CPU and
with --quick: through JAX and PyTorch only, with TensorFlow unimportable (a
GPU machine carries none). No timing is asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import quotient, requires

# Each test starts its own JAX and PyTorch processes.
pytestmark = [pytest.mark.once, pytest.mark.slow]

CHECK = Path(__file__).resolve().parents[1] / "benchmarks" / "device_check.py"

# Imported by every Python process that has this folder on its path: as on a
# machine without them, `import tensorflow` fails and find_spec gives None.
NO_TENSORFLOW = 'import sys\nsys.modules["tensorflow"] = None\nsys.modules["tf_keras"] = None\n'


def run_check(tmp_path, *args):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_TENSORFLOW)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env.pop("KERAS_BACKEND", None)
    return subprocess.run([sys.executable, str(CHECK), *args], capture_output=True, text=True, timeout=600, env=env)


@requires("jax", "torch")
def test_quick_cpu_run_verifies_and_times_both_backends_without_tensorflow(tmp_path):
    out = tmp_path / "out"
    done = run_check(tmp_path, "--device", "cpu", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "device_check.json").read_text())
    assert [(run["backend"], run["dtype"]) for run in report["verification"]] == [
        ("jax", "float32"), ("jax", "float64"), ("torch", "float32"), ("torch", "float64"),
    ]
    for run in report["verification"]:
        assert run["passed"] and run["counts"]["FAIL"] == 0 and run["counts"]["PASS"] > 50, run["counts"]
        assert run["device"]["kind"] == "cpu"
    peers = {("jax", "Adam"): "optax adam", ("torch", "Adam"): "torch fused adam",
             ("torch", "RMSProp"): "torch foreach rmsprop", ("torch", "Momentum"): "torch fused sgd",
             ("torch", "GradientDescent"): "torch fused sgd"}
    for bench in report["benchmarks"]:
        assert bench["device"]["kind"] == "cpu"
        rows = bench["rows"]
        assert {(r["shape"], r["optimizer"]) for r in rows} == {
            (shape, name) for shape in ("a", "b", "large") for name in ("Adam", "RMSProp", "Momentum", "GradientDescent")
        }
        for row in rows:
            ms = row["ms"]
            assert ms["ours"] > 0 and ms["keras"] > 0 and ms["floor"] > 0
            assert row["peer"] == peers.get((bench["backend"], row["optimizer"]))
            # The ratios the table prints are the quotients of its times.
            assert quotient(row["keras_over_ours"], ms["keras"], ms["ours"])
            assert quotient(row["ours_over_floor"], ms["ours"], ms["floor"])
            if row["peer"]:
                assert quotient(row["ours_over_peer"], ms["ours"], ms[row["peer"]])
    markdown = (out / "device_check.md").read_text()
    assert "| jax | a |" in markdown and "| torch | large |" in markdown
    assert "verification" in done.stdout and "device_check: passed" in done.stdout


@requires("jax", "torch")
def test_gpu_requested_without_a_gpu_fails_clearly(tmp_path):
    done = run_check(tmp_path, "--device", "gpu", "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "computes on cpu" in done.stderr and "not on gpu" in done.stderr
    assert not (tmp_path / "out" / "device_check.json").exists()
