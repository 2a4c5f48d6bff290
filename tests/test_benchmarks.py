"""The benchmark script runs (tiny sizes; no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads(out.read_text())
    assert {row["optimizer"] for row in payload["steps"]} == {"GradientDescent", "Momentum", "RMSProp", "Adam"}
    assert {row["shape"] for row in payload["steps"]} == {"a", "b"}
    for row in payload["steps"]:
        assert row["ms"]["ours"] > 0 and row["ms"]["floor"] > 0
        assert row["state_bytes_per_parameter_byte"]["ours"] == {"GradientDescent": 0, "Momentum": 1, "RMSProp": 1, "Adam": 2}[row["optimizer"]]
    assert payload["fit"]["steps_per_second"]["ours"] > 0
    assert "keras/ours" in done.stdout
    # Ours against torch, warm and cold, and the fused kernel's instruction set.
    assert payload["machine"]["fused_kernel_isa"] in ("avx512", "avx2", "sse2", "neon", "baseline")
    assert f"fused kernel instruction set: {payload['machine']['fused_kernel_isa']}" in done.stdout
    against = {(r["shape"], r["optimizer"], r["caches"]) for r in payload["against_torch"]}
    assert against == {(s, o, c) for s in "ab" for o in ("GradientDescent", "Momentum", "RMSProp", "Adam")
                       for c in ("warm", "cold")}
    assert all(r["ms"]["ours"] > 0 and r["ours_over_peer"] > 0 for r in payload["against_torch"])
    # Adam on the other backends, with each one's peer library.
    peers = {result["backend"]: {row["peer"] for row in result["steps"]} for result in payload["backends"]}
    assert peers == {"jax": {"optax adam"}, "torch": {"torch fused adam"}}
    for result in payload["backends"]:
        assert {row["shape"] for row in result["steps"]} == {"a", "b"}
        assert all(row["ms"]["ours"] > 0 and row["ms"]["keras"] > 0 for row in result["steps"])
        assert result["fit"]["steps_per_second"]["ours"] > 0
