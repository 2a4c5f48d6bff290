"""The fused CPU kernel (keras_optims/native): same steps as the rule run as
TensorFlow ops, TensorFlow's variable semantics, its build and its absence."""

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_optims import native
from keras_optims.verification.drivers import Driver
from registry import CASE_IDS, CASES, make

# Sizes chosen so that one variable spans several of the kernel's pieces of
# 2¹⁵ elements (the unit of work handed to a thread) and others are tiny.
SHAPES = [(70_001,), (3, 5), (1,), (257, 130)]


def trajectories(optimizer, dtype, steps=8, seed=3):
    rng = np.random.default_rng(seed)
    driver = Driver(optimizer, optimizer.slot_names).start([rng.standard_normal(s) for s in SHAPES], dtype)
    out = []
    for _ in range(steps):
        # Gradients over six orders of magnitude, so ε matters for some elements.
        driver.apply([rng.standard_normal(s) * 10.0 ** rng.integers(-6, 1, s) for s in SHAPES])
        weights, slots = driver.state()
        out.append(weights + [slots[n][i] for i in range(len(SHAPES)) for n in optimizer.slot_names])
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fused_kernel_gives_the_tensorflow_ops_steps_bit_for_bit(case, dtype):
    """The kernel evaluates the rule's expressions in the same order, with the
    same scalars rounded once to the dtype, and without fused multiply-adds
    (TensorFlow's CPU ops use none either): every IEEE operation is the same,
    so every weight and slot is identical, step by step."""
    if os.environ.get("KERAS_OPTIMS_ISA"):  # run by the test below, on a narrower path
        assert native.isa() == os.environ["KERAS_OPTIMS_ISA"]
    fused_optimizer = make(case, fused=True)
    fused = trajectories(fused_optimizer, dtype)
    assert set(fused_optimizer._updater.updates_by_path) == {"fused"}
    plain = trajectories(make(case, fused=False, jit_compile=False), dtype)
    for step, (got, want) in enumerate(zip(fused, plain), start=1):
        for k, (a, b) in enumerate(zip(got, want)):
            np.testing.assert_array_equal(a, b, err_msg=f"tensor {k} after step {step}")


def cpu_flags():
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return None
    line = next((line for line in text.splitlines() if line.startswith("flags")), None)
    return set(line.split(":", 1)[1].split()) if line else None


def widest_isa():
    """The instruction set the kernel should pick on this CPU (None where
    /proc/cpuinfo does not say)."""
    import platform

    flags = cpu_flags()
    if platform.machine() not in ("x86_64", "AMD64") or flags is None:
        return None
    return "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "sse2"


def test_the_kernel_runs_with_the_widest_instruction_set_the_cpu_has():
    if os.environ.get("KERAS_OPTIMS_ISA"):
        pytest.skip("KERAS_OPTIMS_ISA chooses the instruction set here")
    expected = widest_isa()
    if expected is None:
        pytest.skip("not x86-64 Linux: one instruction set")
    assert native.isa() == expected


@pytest.mark.slow
@pytest.mark.parametrize("isa", ["sse2", "avx2"])
def test_every_narrower_instruction_set_gives_the_same_bits(isa):
    """One library holds the loops for every x86-64 vector width and picks
    one at load; KERAS_OPTIMS_ISA asks for a narrower one. Each gives the
    TensorFlow-ops steps bit for bit, like the widest (the test above).
    With four intra-op threads: the Makefile runs each lane on one, and the
    kernel's pieces then run one after another; here on several threads."""
    order = ["sse2", "avx2", "avx512"]
    widest = widest_isa()
    if widest is None or order.index(isa) >= order.index(widest):
        pytest.skip(f"{isa} is not narrower than what this CPU runs ({widest})")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         f"{__file__}::test_fused_kernel_gives_the_tensorflow_ops_steps_bit_for_bit"],
        capture_output=True, text=True, timeout=600, cwd=os.path.dirname(__file__),
        env={**os.environ, "KERAS_OPTIMS_ISA": isa, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": "4"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"{2 * len(CASES)} passed" in done.stdout


def test_comparison_catches_a_one_ulp_difference():
    """Control for the bit-for-bit test: a learning rate one float32 ulp
    away shows up."""
    alpha = 0.05
    nudged = float(np.nextafter(np.float32(alpha), np.float32(1)))
    a = trajectories(make(CASES[0], learning_rate=alpha), "float32", steps=2)
    b = trajectories(make(CASES[0], learning_rate=nudged, fused=False, jit_compile=False), "float32", steps=2)
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(a[-1][0], b[-1][0])


def test_a_value_read_before_the_step_keeps_its_value():
    """Like TensorFlow's own ResourceApply* kernels, the update copies a
    variable's buffer that a live tensor still shares instead of writing
    into it."""
    from keras_optims import GradientDescent

    variable = keras.Variable(np.ones(100_000, "float32"))
    before = variable.value.read_value()  # an eager tensor on the variable's buffer
    GradientDescent(0.5, fused=True).apply([tf.ones(100_000)], [variable])
    np.testing.assert_array_equal(before.numpy(), 1.0)
    np.testing.assert_array_equal(variable.numpy(), 0.5)


def test_the_kernel_checks_its_inputs():
    """Called directly, mismatched slots and scalars fail with TensorFlow's
    InvalidArgumentError, not a crash."""
    W, v = tf.Variable(tf.zeros(4)), tf.Variable(tf.zeros(5))
    momentum = tf.constant([0.9, 0.1, 0.01], tf.float64)
    native.update("momentum", [W], [tf.ones(4)], [v], [1], momentum)  # fits: elements 1..4
    with pytest.raises(tf.errors.InvalidArgumentError, match="5 elements cannot hold variable 0 .4 elements. at offset 2"):
        native.update("momentum", [W], [tf.ones(4)], [v], [2], momentum)
    with pytest.raises(tf.errors.InvalidArgumentError, match="at offset -1"):
        native.update("momentum", [W], [tf.ones(4)], [v], [-1], momentum)
    with pytest.raises(tf.errors.InvalidArgumentError, match="variable of dtype double, but the gradients are float"):
        native.update("gradient_descent", [tf.Variable(tf.zeros(4, tf.float64))], [tf.ones(4)], [], [0],
                      tf.constant([0.1], tf.float64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="wrong number of scalars"):
        native.update("gradient_descent", [W], [tf.ones(4)], [], [0], tf.constant([0.9, 0.1], tf.float64))


def test_an_unwritable_cache_home_falls_back_to_the_temp_folder(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.delenv("KERAS_OPTIMS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert native.library_path().parent == tmp_path / "cache" / "keras_optims"
    assert not (tmp_path / "cache").exists()  # choosing the folder creates nothing
    monkeypatch.setattr(native.build, "_writable", lambda path: False)  # (root may write anywhere)
    assert native.library_path().parent == Path(tempfile.gettempdir()) / f"keras_optims-{os.getuid()}"


def test_the_built_library_is_cached_under_its_key():
    """Where the build went: the name `library_path()` gives (what each
    part of the key changes is tested in test_native_trust.py), and the
    record through which the next import finds it."""
    native.load()
    path = native.library_path()
    assert path.exists() and re.fullmatch(r"course_update-[0-9a-f]{16}\.so", path.name)
    record = json.loads((path.parent / native.record_name()).read_text())
    assert record["library"] == path.name


def test_environments_sharing_a_cache_folder_each_keep_their_record(tmp_path):
    """Two environments (two TensorFlow versions, two compilers: two
    identities) that share the cache folder each find their own library by
    their record. Before: one record per folder, which each environment's
    build overwrote (two TensorFlow configurations run side by side found
    the other's record)."""
    folder, uid = tmp_path / "cache", os.getuid()
    folder.mkdir(mode=0o700)
    descriptor = native.trust.open_folder(folder, uid)
    try:
        libraries = {"a" * 64: f"course_update-{'1' * 16}.so", "b" * 64: f"course_update-{'2' * 16}.so"}
        for identity, library in libraries.items():
            native.build.write_record(descriptor, library, identity)
        for identity, library in libraries.items():
            assert native.build.recorded_library(descriptor, folder, uid, identity) == library
        assert native.build.recorded_library(descriptor, folder, uid, "c" * 64) is None
        assert native.build.RECORD_NAME.fullmatch(native.record_name()) and native.record_name() != native.record_name("a" * 64)
    finally:
        os.close(descriptor)


def run_python(code, **env):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# What other platforms lack, simulated here (each a prelude run before
# `import keras_optims`, or an environment): macOS has /dev/fd and user ids
# but may have no compiler; Windows has no os.getuid (and no /proc or
# /dev/fd); a container may have neither /proc/<pid>/fd nor /dev/fd.
MISSING = {
    "no C++ compiler": ("", {"CXX": "no-such-compiler-here"}, "no C++ compiler found"),
    "no os.getuid": ("import os; del os.getuid", {}, "this platform has no user ids (os.getuid)"),
    "no /proc/<pid>/fd or /dev/fd": (
        "import os, os.path; _exists = os.path.exists; "
        "os.path.exists = lambda p: False if str(p).startswith(('/proc/', '/dev/fd')) else _exists(p)",
        {}, "this platform cannot open a file by its descriptor (no /proc/<pid>/fd or /dev/fd)"),
}
GRADIENTS = [[0.5, -1.0, 2.0], [1e-3, 3.0, -0.25], [-2.0, 0.0, 1.0]]
TILES = 1000  # 3,000 elements: a model the default would update with the kernel


@pytest.mark.slow
@pytest.mark.parametrize("missing", MISSING)
def test_where_the_kernel_cannot_be_built_the_default_warns_and_trains_with_the_rule(tmp_path, missing):
    """`import keras_optims` works; `fused=True` raises naming the reason;
    the default (`fused=None`) warns once with it and takes the course's
    Adam steps with XLA (held to the reference by hand below); `python -m
    keras_optims.native` exits 1 with the reason; nothing is built. The
    variable is above the size below which the default takes TensorFlow ops
    without asking for the kernel (`tf_update.small_model`)."""
    from keras_optims.verification import reference

    prelude, env, reason = MISSING[missing]
    out = run_python(
        prelude + "\n" + textwrap.dedent("""
        import warnings
        import numpy as np, keras, tensorflow as tf
        import keras_optims
        from keras_optims import native
        try:
            keras_optims.Adam(fused=True)
        except native.NativeUnavailable as error:
            print("RAISED:", error)
        opt = keras_optims.Adam(0.1)
        v = keras.Variable(np.tile([1.0, -2.0, 3.0], TILES), dtype="float64")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for g in GRADIENTS:
                opt.apply([tf.constant(np.tile(g, TILES), tf.float64)], [v])
        print("WARNED:", [str(w.message) for w in caught])
        print("PATHS:", dict(opt._updater.updates_by_path))
        print("W:", v.numpy().tolist())
        import runpy, sys
        try:
            runpy.run_module("keras_optims.native", run_name="__main__")
        except SystemExit as exit:
            print("AHEAD OF TIME EXIT:", exit.code)
        """).replace("GRADIENTS", repr(GRADIENTS)).replace("TILES", str(TILES)),
        KERAS_OPTIMS_CACHE_DIR=str(tmp_path / "cache"), **env,
    )
    assert "RAISED: fused=True needs the fused CPU kernel" in out and reason in out.split("WARNED:")[0], out
    warned = out.split("WARNED:")[1].split("PATHS:")[0]
    assert warned.count("the fused CPU kernel is unavailable") == 1 and reason in warned, warned
    assert f"PATHS: {{'xla': {len(GRADIENTS)}}}" in out  # every step by XLA
    W = np.tile([1.0, -2.0, 3.0], TILES)
    v, s = np.zeros_like(W), np.zeros_like(W)
    for t, g in enumerate(GRADIENTS, start=1):
        W, v, s = reference.adam_step(W, np.tile(g, TILES), v, s, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    got = np.array(json.loads(out.split("W:")[1].splitlines()[0]))
    np.testing.assert_allclose(got, W, rtol=1e-12, atol=0)  # float64, a few roundings a step (the suite's bound)
    assert "AHEAD OF TIME EXIT: 1" in out
    assert not list((tmp_path / "cache").glob("*.so"))


@pytest.mark.slow
def test_the_first_build_says_what_where_and_how_long_and_can_be_done_ahead_of_time(tmp_path):
    """`python -m keras_optims.native` on an empty cache: one line on
    standard error before the compiler runs (what is built, about how long,
    where it is cached, the command), then where the library is, exit 0.
    Then a fit in a new process finds it and says nothing."""
    cache = tmp_path / "cache"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_OPTIMS_CACHE_DIR": str(cache)}
    built = subprocess.run([sys.executable, "-m", "keras_optims.native"], capture_output=True, text=True, env=env,
                           timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    lines = [line for line in built.stderr.splitlines() if line.startswith("keras_optims:")]
    assert len(lines) == 1, built.stderr
    assert lines[0].startswith("keras_optims: building the fused CPU kernel (course_update.cc, for TensorFlow "
                               f"{tf.__version__}, with ")
    assert f"about {native.build.BUILD_SECONDS}" in lines[0] and f"cached in {cache}." in lines[0]
    assert "`python -m keras_optims.native` builds it ahead of time" in lines[0]
    library = list(cache.glob("course_update-*.so"))
    assert len(library) == 1 and f"the fused CPU kernel is ready: {library[0]} (instruction set " in built.stdout
    again = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import numpy as np, keras, keras_optims
        model = keras.Sequential([keras.Input((4096,)), keras.layers.Dense(1)])  # large enough for the kernel
        model.compile(optimizer=keras_optims.Adam(), loss="mse")
        model.fit(np.ones((8, 4096)), np.ones((8, 1)), verbose=0)
        print("PATHS:", dict(model.optimizer._updater.updates_by_path))
        """)], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "building the fused CPU kernel" not in again.stderr and "'fused'" in again.stdout, again.stdout


class TrainStep(tf.Module):
    """A training step as a SavedModel can hold it: the fused op in its graph."""

    def __init__(self):
        import keras_optims

        self.w = tf.Variable(np.linspace(-1, 1, 5).astype("float32"))
        self.optimizer = keras_optims.Adam(0.1, fused=True)  # five elements: the default would take TensorFlow ops
        self.optimizer.build([self.w])

    @tf.function(input_signature=[tf.TensorSpec([5], tf.float32)])
    def train(self, gradient):
        self.optimizer.apply([gradient], [self.w])
        return self.w.read_value()


LOAD_AND_STEP = """
    import numpy as np, tensorflow as tf
    import keras_optims
    from keras_optims import native
    try:
        module = tf.saved_model.load({path!r})
    except Exception as error:
        print("FAILED:", str(error).splitlines()[0])
        native.load()
        module = tf.saved_model.load({path!r})
    print("W:", repr(module.train(tf.constant([0.5, -1.0, 2.0, 0.25, -0.75])).numpy().tolist()))
"""


@pytest.fixture(scope="module")
def saved_train_step(tmp_path_factory):
    """A SavedModel of a training step after one step, and the weights that
    its second step gives in this process."""
    path = str(tmp_path_factory.mktemp("saved") / "train_step")
    module = TrainStep()
    assert module.optimizer.update_path == "fused"
    module.train(tf.constant([1.0, 2.0, -3.0, 0.5, 0.0]))
    tf.saved_model.save(module, path)
    second = module.train(tf.constant([0.5, -1.0, 2.0, 0.25, -0.75])).numpy().tolist()
    return path, second


@pytest.mark.slow
def test_a_saved_training_step_loads_after_import_keras_optims(saved_train_step):
    """The kernel is built on this machine, so the import registers its op;
    the loaded step continues exactly."""
    path, second = saved_train_step
    out = run_python(LOAD_AND_STEP.format(path=path))
    assert "FAILED" not in out and f"W: {second!r}" in out


@pytest.mark.slow
def test_builds_into_the_cache_folder_it_is_given(tmp_path, saved_train_step):
    """With an empty cache, nothing is built at import, so a SavedModel that
    used the kernel does not load until `native.load()` builds it (the
    documented recipe); then it continues exactly."""
    path, second = saved_train_step
    cache = tmp_path / "cache"
    out = run_python(LOAD_AND_STEP.format(path=path), KERAS_OPTIMS_CACHE_DIR=str(cache))
    assert "FAILED: Op type not registered 'KerasOptimsCourseUpdate'" in out
    assert f"W: {second!r}" in out
    built = list(cache.glob("course_update-*.so"))
    assert len(built) == 1 and not list(cache.glob("*.tmp"))
