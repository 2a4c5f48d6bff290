"""The verification package: its reference is independent, its checks pass on
our optimizers, fail on wrong ones, and its CLI reports and exits correctly."""

import ast
import json
import os
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

import keras
import keras_optims
from keras_optims.verification import __main__ as cli
from keras_optims.verification import equivalences, faults, reference, registry, suite, verify
from support import EVERY_BACKEND, requires

REFERENCE_DIR = Path(reference.__file__).parent
ALLOWED = {"numpy", "math", "dataclasses", "functools", "itertools", "typing", "__future__"}


def test_reference_imports_only_numpy_and_the_standard_library():
    files = sorted(REFERENCE_DIR.glob("*.py"))
    assert len(files) >= 6
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside reference/ itself
                    continue
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"


def test_the_import_check_can_fail(tmp_path):
    bad = "import numpy as np\nfrom keras import ops\n"
    modules = [n.module for n in ast.walk(ast.parse(bad)) if isinstance(n, ast.ImportFrom)]
    assert modules == ["keras"] and "keras" not in ALLOWED


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", registry.CASES, ids=[c.id for c in registry.CASES])
def test_verify_passes_every_configuration(case, dtype):
    report = verify(case.make(), steps=100, dtype=dtype)
    assert report.passed, report
    assert report.steps == 100 and len(report.max_abs_errors) == 100
    assert 1 <= report.worst_step <= 100


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fault", faults.FAULTS, ids=[f[0] for f in faults.FAULTS])
def test_verify_catches_every_wrong_optimizer(fault, dtype):
    """Negative controls: ε inside the root, ε = 1e-7, epsilon hat, no bias
    correction, learning rate inside the momentum buffer."""
    _, _, make = fault
    report = verify(make(), steps=100, dtype=dtype)
    assert not report.passed
    assert suite.first_failure(report) is not None


def test_verify_does_not_touch_the_given_optimizer():
    opt = keras_optims.Adam(0.01)
    verify(opt, steps=3)
    assert not opt.built and int(opt.iterations.numpy()) == 0


def test_verify_follows_a_schedule():
    schedule = keras_optims.schedules.EpochStaircase([2], [0.1, 0.001], steps_per_epoch=3)
    assert verify(keras_optims.Adam(schedule), steps=12).passed


def test_verify_rejects_what_it_cannot_derive():
    with pytest.raises(TypeError, match="no reference for .*Adagrad"):
        verify(keras.optimizers.Adagrad())
    with pytest.raises(TypeError, match="no reference for"):
        verify(keras_optims.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(ValueError, match="Argument `dtype` must be one of"):
        verify(keras_optims.Adam(), dtype="float16")
    with pytest.raises(ValueError, match="Received: steps=0"):
        verify(keras_optims.Adam(), steps=0)


@pytest.mark.parametrize("equivalence", equivalences.EQUIVALENCES, ids=lambda e: e.id)
def test_each_equivalence_holds_and_its_control_fails(equivalence):
    reason = equivalences.unavailable(equivalence)  # here, not at collection: it imports the peer library
    if reason:
        pytest.skip(reason)
    main, control = equivalence.run("float64", 60)
    assert main.passed, main
    assert not control.passed, control


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_hand_backprop_passes_gradient_checking_on_every_layer(hidden, output, l2):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 7))
    Y = (rng.random((1, 7)) > 0.5).astype(float) if output == "sigmoid" else np.eye(3)[:, rng.integers(0, 3, 7)]
    network = reference.Network([4, 5, 3, Y.shape[0]], hidden, output, l2, seed=1)
    differences = reference.gradient_check(
        lambda p: network.cost(X, Y, p), network.parameters, network.gradients(X, Y), epsilon=1e-6
    )
    for group, difference in differences.items():
        if group.startswith("layer") or group == "all":
            assert difference <= 1e-7, (group, difference)


def test_minibatches_are_a_permutation_cut_as_the_course_says():
    X = np.arange(2 * 50).reshape(2, 50)
    Y = np.arange(50).reshape(1, 50)
    batches = reference.random_mini_batches(X, Y, 16, seed=4)
    assert [b[0].shape[1] for b in batches] == [16, 16, 16, 2]
    order = np.concatenate([b[1].ravel() for b in batches])
    assert sorted(order) == list(range(50)) and not np.array_equal(order, np.arange(50))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches], axis=1), X[:, order])
    assert len(reference.random_mini_batches(X, Y, 50)) == 1  # batch gradient descent
    assert len(reference.random_mini_batches(X, Y, 1)) == 50  # stochastic
    with pytest.raises(ValueError):
        reference.random_mini_batches(X, Y, 0)


def test_reference_ewma_runs_on_the_uncorrected_value():
    series = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(reference.ewma(series, 0.5, bias_correction=False), [0.5, 1.25, 2.125])
    np.testing.assert_allclose(reference.ewma(series, 0.5), [0.5 / 0.5, 1.25 / 0.75, 2.125 / 0.875])


def test_whole_suite_passes_quickly_and_writes_json(tmp_path, capsys):
    path = tmp_path / "report.json"
    status = cli.main(["--json", str(path)])
    out = capsys.readouterr().out
    assert status == 0, out
    payload = json.loads(path.read_text())
    assert payload["passed"] and payload["counts"]["FAIL"] == 0
    assert payload["seconds"] < 60
    backend = keras.backend.backend()
    assert payload["backend"] == backend and "keras" in payload["versions"]
    assert f"on the {backend} backend" in out
    names = [row["name"] for row in payload["rows"]]
    for section in ("optimizer:", "schedule:", "ewma:", "training", "gradient check:", "mini-batches:",
                    "equivalence:", "control:"):
        assert any(name.startswith(section) for name in names), section
    assert "case" in out and "max rel err" in out and "passed," in out


def test_cli_exit_status_1_when_a_check_fails(monkeypatch, capsys):
    def failing(steps, dtype, seed):
        yield suite._row("optimizer", "wrong on purpose", verify(faults.AdamWithoutBiasCorrection(), 5))

    monkeypatch.setattr(suite, "SECTIONS", [("optimizer", failing)])
    assert cli.main(["--only", "optimizer"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_cli_writes_junit_xml_and_markdown_that_show_the_failure(monkeypatch, tmp_path, capsys):
    wrong = verify(faults.AdamWithoutBiasCorrection(), 5)

    def section(steps, dtype, seed):
        yield suite._row("optimizer", "adam", verify(keras_optims.Adam(), 5))
        yield suite._row("optimizer", "wrong on purpose", wrong, note="no bias correction")
        yield suite.Row("optimizer", "not here", 0, 0.0, 0.0, 0.0, "SKIP", "needs something")

    monkeypatch.setattr(suite, "SECTIONS", [("optimizer", section)])
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    assert cli.main(["--only", "optimizer", "--junit", str(junit), "--markdown", str(summary)]) == 1
    root = ElementTree.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == ("3", "1", "1", "0")
    cases = root.find("testsuite").findall("testcase")
    assert [c.get("name") for c in cases] == ["adam", "wrong on purpose", "not here"]
    assert cases[0].find("failure") is None and cases[2].find("skipped").get("message") == "needs something"
    failure = cases[1].find("failure")
    assert failure.get("message") == "no bias correction" and f"max rel error {wrong.max_rel_error:.3g}" in failure.text
    assert all(c.get("classname") == f"keras_optims.verification.{keras.backend.backend()}.optimizer" for c in cases)
    lines = summary.read_text().splitlines()
    table = [line for line in lines if line.startswith("| optimizer")]
    assert table[0].startswith("| optimizer: wrong on purpose <br>*no bias correction*") and "**FAIL**" in table[0]
    assert len(table) == 3 and "FAILED" in lines[0]


LONG = "a case whose name goes on " * 6  # 156 characters


@pytest.mark.parametrize("width", [80, 120])
def test_the_table_fits_columns_and_wraps_long_names(width, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(width))
    rows = [suite.Row("optimizer", LONG.strip(), 100, 1e-16, 2e-16, 1e-12, "PASS", "a note " * 5),
            suite.Row("ewma", "short", 100, 0.0, 0.0, 1e-12, "SKIP", "")]
    table = cli.format_table(rows).splitlines()
    assert max(map(len, table)) <= width
    assert "\n".join(table).count("whose") == 6 and "a note a note" in "\n".join(table)  # nothing cut
    assert len(table) > 4 and table[2].startswith("optimizer: a case") and table[2].endswith("PASS")
    assert cli.main(["--only", "ewma", "--steps", "10"]) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) <= width


def test_the_table_is_100_wide_without_a_terminal(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(os, "get_terminal_size", lambda *a: (_ for _ in ()).throw(OSError("not a terminal")))
    assert cli.table_width() == 100


@pytest.mark.parametrize(
    "argv", [["--steps", "0"], ["--steps", "x"], ["--dtype", "float16"], ["--only", "nothing-like-this"], ["--bogus"]]
)
def test_cli_exit_status_2_on_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(argv)
    assert raised.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_cli_float32_run(capsys):
    assert cli.main(["--dtype", "float32", "--steps", "120", "--only", "optimizer"]) == 0
    assert "dtype float32, 120 steps" in capsys.readouterr().out


@pytest.mark.tensorflow  # starts every backend itself; once is enough
@requires(*EVERY_BACKEND)
def test_cli_runs_each_backend_in_its_own_process(tmp_path):
    """--backend all: one run per backend, each naming its backend; their JSON
    combined, with one "passed" for all."""
    import subprocess
    import sys

    path, junit, summary = tmp_path / "all.json", tmp_path / "junit.xml", tmp_path / "summary.md"
    script = Path(sys.executable).with_name("keras-optims-verify")  # the console script
    done = subprocess.run(
        [str(script), "--backend", "all", "--only", "schedule", "--steps", "10", "--json", str(path),
         "--junit", str(junit), "--markdown", str(summary)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    payload = json.loads(path.read_text())
    assert payload["passed"] is True
    assert [run["backend"] for run in payload["runs"]] == ["tensorflow", "jax", "torch"]
    for run in payload["runs"]:
        assert run["passed"] and run["counts"]["PASS"] > 0 and run["counts"]["FAIL"] == 0
        assert f"on the {run['backend']} backend" in done.stdout
    suites = ElementTree.parse(junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [f"keras_optims.verification ({b})" for b in ("tensorflow", "jax", "torch")]
    for suite_element, run in zip(suites, payload["runs"]):
        assert int(suite_element.get("tests")) == len(run["rows"]) == len(suite_element.findall("testcase"))
    assert summary.read_text().count("### keras_optims.verification on ") == 3


@pytest.mark.tensorflow
def test_cli_shows_no_native_tensorflow_log_lines_unless_asked(tmp_path):
    """What a newcomer sees first: the table, not TensorFlow's start-up lines
    (CUDA probing, XLA service, "Compiled cluster"), unless the user chose a
    level (TF_CPP_MIN_LOG_LEVEL) or asked for --verbose."""
    import subprocess
    import sys

    from keras_optims.compat import NATIVE_LOG_LINE

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    # "all": TensorFlow, then JAX and PyTorch, each in its own process; the
    # equivalence rows import TensorFlow in the middle of the JAX run.
    command = [sys.executable, "-m", "keras_optims.verification", "--backend", "all", "--only", "equivalence",
               "--steps", "3"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert not [line for line in lines if NATIVE_LOG_LINE.match(line)], done.stderr
    assert "cuInit" not in done.stderr and "XLA" not in done.stderr
    assert lines[0].startswith("keras_optims verification on the tensorflow backend")
    assert sum(line.startswith("keras_optims verification on the") for line in lines) == 3


def test_cli_quiets_tensorflow_only_when_the_user_did_not_choose(monkeypatch):
    import sys

    from keras_optims import compat

    argv = [sys.executable, "-m", "keras_optims.verification", "--steps", "3"]
    # (arguments, the level the user set, the level after, whether start-up lines are dropped)
    cases = [([], None, "3", True), (["--verbose"], None, None, False), ([], "1", "1", False),
             (["--verbose"], "0", "0", False), ([], "3", "3", True), (["--verbose"], "3", "3", False)]
    for extra, chosen, expected, dropped in cases:
        monkeypatch.setattr(sys, "orig_argv", argv + extra)
        monkeypatch.setattr(compat, "_QUIET", False)
        if chosen is None:
            monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
        else:
            monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", chosen)
        compat.prepare_verification_cli()
        assert os.environ.get("TF_CPP_MIN_LOG_LEVEL") == expected, (extra, chosen)
        assert compat._QUIET == dropped, (extra, chosen)


def test_native_log_line_pattern():
    from keras_optims.compat import NATIVE_LOG_LINE

    assert NATIVE_LOG_LINE.match("I0000 00:00:1796076046.743375    6337 cudart_stub.cc:31] Could not find cuda drivers")
    assert NATIVE_LOG_LINE.match("E0000 00:00:1796076053.319089    6337 cuda_platform.cc:52] failed call to cuInit")
    assert NATIVE_LOG_LINE.match("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert not NATIVE_LOG_LINE.match("keras_optims verification on the tensorflow backend")
    assert not NATIVE_LOG_LINE.match("UserWarning: something the user must see")
