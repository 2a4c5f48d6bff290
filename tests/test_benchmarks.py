"""The benchmark scripts run (tiny sizes; no timing is asserted), time what
they say they time (the optimizer under the clock really steps) and report
ratios that are the quotients of the times they print."""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from support import quotient

# Each script runs in processes of its own, on the backends it names.
pytestmark = [pytest.mark.once, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
TENSORFLOW = {**os.environ, "KERAS_BACKEND": "tensorflow"}  # bench.py and tf_call.py time TensorFlow's paths


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600, env=TENSORFLOW,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads(out.read_text())
    assert {row["optimizer"] for row in payload["steps"]} == {"GradientDescent", "Momentum", "RMSProp", "Adam"}
    assert {row["shape"] for row in payload["steps"]} == {"a", "b"}
    for row in payload["steps"]:
        ms = row["ms"]
        assert ms["ours"] > 0 and ms["floor"] > 0
        # What is timed as "ours" is this package's optimizer stepping: three
        # warm-up calls and one timed (--repeats 1), at least.
        assert sum(row["ours_paths"].values()) >= 4, row["ours_paths"]
        assert quotient(row["keras_over_ours"], ms["keras"], ms["ours"])
        assert quotient(row["keras_xla_over_ours"], ms["keras+xla"], ms["ours"])
        assert quotient(row["ours_over_floor"], ms["ours"], ms["floor"])
        assert row["state_bytes_per_parameter_byte"]["ours"] == {"GradientDescent": 0, "Momentum": 1, "RMSProp": 1, "Adam": 2}[row["optimizer"]]
    # model.fit on every backend, float32 and float64, each optimizer against its built-in.
    fit = payload["fit"]["rows"]
    assert {(r["backend"], r["dtype"], r["optimizer"]) for r in fit} == {
        (b, d, o) for b in ("tensorflow", "jax", "torch") for d in ("float32", "float64")
        for o in ("GradientDescent", "Momentum", "RMSProp", "Adam")}
    for r in fit:
        rates = r["steps_per_second"]
        assert rates["ours"] > 0 and quotient(r["ours_over_keras"], rates["ours"], rates["keras"]), r
    assert set(payload["fit"]["versions"]) == {"tensorflow", "jax", "torch"}
    assert done.stdout.index("model.fit, steps per second") < done.stdout.index("keras/ours")  # the fit table first
    assert "keras/ours" in done.stdout
    # Ours against torch, warm and cold, and the fused kernel's instruction set.
    assert payload["machine"]["fused_kernel_isa"] in ("avx512", "avx2", "sse2", "neon", "baseline")
    assert f"fused kernel instruction set: {payload['machine']['fused_kernel_isa']}" in done.stdout
    against = {(r["shape"], r["optimizer"], r["caches"]) for r in payload["against_torch"]}
    assert against == {(s, o, c) for s in "ab" for o in ("GradientDescent", "Momentum", "RMSProp", "Adam")
                       for c in ("warm", "cold")}
    for r in payload["against_torch"]:
        assert r["ms"]["ours"] > 0 and quotient(r["ours_over_peer"], r["ms"]["ours"], r["ms"][r["peer"]]), r
    # Adam on the other backends, with each one's peer library.
    # Adam against optax on JAX; every optimizer against its torch.optim class on PyTorch.
    peers = {result["backend"]: {(row["optimizer"], row["peer"]) for row in result["steps"]}
             for result in payload["backends"]}
    assert peers == {"jax": {("Adam", "optax adam")},
                     "torch": {("GradientDescent", "torch fused sgd"), ("Momentum", "torch fused sgd"),
                               ("RMSProp", "torch foreach rmsprop"), ("Adam", "torch fused adam")}}
    for result in payload["backends"]:
        assert {row["shape"] for row in result["steps"]} == {"a", "b"}
        for row in result["steps"]:
            ms = row["ms"]
            assert ms["ours"] > 0 and quotient(row["keras_over_ours"], ms["keras"], ms["ours"])
            assert quotient(row["ours_over_peer"], ms["ours"], ms[row["peer"]])


def test_every_fit_model_trains_with_every_optimizer(tmp_path):
    """benchmarks/fit.py's five models (the smoke test above runs README's
    only), under JAX, the quickest to start: a row each, with both sides
    timed in every round, ours/Keras the median of the rounds' ratios, and
    the quartiles in order."""
    models = ("course", "readme", "mlp-1m", "embedding", "mobilenetv2")
    out = tmp_path / "fit.json"
    done = subprocess.run(
        [sys.executable, str(BENCH.with_name("fit.py")), "--quick", "--rounds", "3", "--dtype", "float32", "--json",
         str(out), *(arg for model in models for arg in ("--model", model))],
        capture_output=True, text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "jax"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads(out.read_text())
    assert {(r["model"], r["optimizer"]) for r in payload["rows"]} == {
        (m, o) for m in models for o in ("GradientDescent", "Momentum", "RMSProp", "Adam")}
    for r in payload["rows"]:
        rates, q, rounds = r["steps_per_second"], r["round_ratios"], r["rounds"]
        assert min(rates.values()) > 0 and len(rounds["ours"]) == len(rounds["keras"]) == 3, r
        assert rates["ours"] == statistics.median(rounds["ours"]), r
        ratios = sorted(ours / keras for ours, keras in zip(rounds["ours"], rounds["keras"]))
        assert r["ours_over_keras"] == q["median"] == ratios[1] and (q["min"], q["max"]) == (ratios[0], ratios[2]), r
        assert q["min"] <= q["q1"] <= q["median"] <= q["q3"] <= q["max"], r
    assert payload["machine"]["versions"]["jax"] and payload["machine"]["backend"] == "jax"


def test_the_update_path_benchmark_runs_every_path(tmp_path):
    """benchmarks/update_path.py under TensorFlow, on the course's network:
    a row per optimizer with the three settings timed and the default's
    path named (the tiny network takes TensorFlow ops)."""
    out = tmp_path / "paths.json"
    done = subprocess.run(
        [sys.executable, str(BENCH.with_name("update_path.py")), "--rounds", "1", "--steps", "2", "--hidden", "5-2",
         "--json", str(out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["hidden"], r["optimizer"]) for r in rows] == [([5, 2], "GradientDescent"), ([5, 2], "Adam")]
    for r in rows:
        assert min(r["ms"].values()) > 0 and r["default_path"] == "tensorflow" and r["variables"] == 6, r


def test_the_tensorflow_call_profile_runs(tmp_path):
    """benchmarks/tf_call.py: the step, ten steps per call, the empty call,
    torch's fused Adam, and fit with steps_per_execution and jit_compile."""
    out = tmp_path / "calls.json"
    done = subprocess.run([sys.executable, str(BENCH.with_name("tf_call.py")), "--quick", "--repeats", "1",
                           "--json", str(out)], capture_output=True, text=True, timeout=600, env=TENSORFLOW)
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads(out.read_text())
    for shape in ("a", "b"):
        assert {"step", "step/10", "empty call", "torch fused adam"} <= set(payload["steps"][shape])
        assert all(ms > 0 for ms in payload["steps"][shape].values())
    assert set(payload["fit"]) == {"fit", "fit, steps_per_execution=10", "fit, jit_compile=True"}
