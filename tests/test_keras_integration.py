"""The optimizers inside real Keras: every execution mode, XLA, fit, Keras's
own optimizer arguments, schedules, mixed dtypes and sparse gradients."""

import numpy as np
import pytest

import keras
import keras_optims
from keras_optims.verification.drivers import Driver
from registry import CASE_IDS, CASES, make, spec
from support import RTOL, assert_steps_close, random_gradients, run_steps, tensor

if keras.backend.backend() == "tensorflow":  # the tests marked `tensorflow` use it
    import tensorflow as tf

SHAPES = [(40, 60), (60,)]  # 2,460 elements: above the size below which the default takes TensorFlow ops


def gradient_sequence(steps, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES] for _ in range(steps)]


def run_mode(optimizer, mode, grads, dtype="float32"):
    """Runs `grads` through `optimizer` in one execution mode; returns the
    variables and slots after each step as lists of arrays."""
    wrap = {
        "eager": None,
        "tf.function": tf.function,
        "tf.function(jit_compile=True)": lambda step: tf.function(step, jit_compile=True),
    }[mode]
    driver = Driver(optimizer, optimizer.slot_names, wrap=wrap)
    driver.start([np.linspace(-1, 1, np.prod(s)).reshape(s) for s in SHAPES], dtype)
    history = []
    for gs in grads:
        driver.apply(gs)
        weights, slots = driver.state()
        history.append(weights + [slots[n][i] for i in range(len(SHAPES)) for n in optimizer.slot_names])
    return history


MODES = ["eager", "tf.function", "tf.function(jit_compile=True)"]


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_execution_mode_gives_the_same_steps(case):
    """Eager, tf.function and an XLA-compiled tf.function, with each way of
    running the update (fused kernel, XLA, TF ops): the same steps."""
    grads = gradient_sequence(5)
    reference = run_mode(make(case, fused=False, jit_compile=False), "eager", grads)
    for kernel in ({}, {"fused": False}, {"fused": False, "jit_compile": False}):
        for mode in MODES:
            history = run_mode(make(case, **kernel), mode, grads)
            for step, (got, want) in enumerate(zip(history, reference), start=1):
                for a, b in zip(got, want):
                    # Same float32 rule; XLA may fuse and order operations
                    # differently, so agreement is to float32 rounding.
                    np.testing.assert_allclose(
                        a, b, rtol=RTOL["float32"], atol=1e-7, err_msg=f"{mode}, {kernel}, step {step}"
                    )


@pytest.mark.tensorflow
@pytest.mark.parametrize(
    "kernel, mode, path",
    [
        ({}, "eager", "fused"),
        ({}, "tf.function", "fused"),
        ({}, "tf.function(jit_compile=True)", "xla"),  # a custom op cannot be XLA-compiled
        ({"fused": False}, "tf.function", "xla"),
        ({"fused": False, "jit_compile": False}, "tf.function", "ops"),
        ({"jit_compile": False}, "tf.function", "fused"),
    ],
)
def test_which_path_runs_the_update(kernel, mode, path):
    opt = keras_optims.Adam(**kernel)
    run_mode(opt, mode, gradient_sequence(2))
    assert set(opt._updater.updates_by_path) == {path}, opt._updater.updates_by_path


@pytest.mark.tensorflow
def test_fused_true_inside_an_xla_function_raises():
    opt = keras_optims.Adam(fused=True)
    with pytest.raises(ValueError, match="fused=True, but .* traced inside an XLA-compiled function"):
        run_mode(opt, "tf.function(jit_compile=True)", gradient_sequence(1))


@pytest.mark.tensorflow
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_fused_kernel_leaves_other_dtypes_to_xla(dtype):
    """The kernel takes float32 and float64; a half-precision variable is
    updated by XLA under the default, and fused=True names it and raises."""
    # The float32 variable is the larger: the default takes the kernel for
    # what it can take (a model of this size).
    grads = [tf.constant(np.ones(SHAPES[1], dtype)), tf.constant(np.ones(SHAPES[0], "float32"))]
    variables = [keras.Variable(np.zeros(SHAPES[1], dtype)), keras.Variable(np.zeros(SHAPES[0], "float32"))]
    opt = keras_optims.GradientDescent(0.5)
    opt.apply(grads, variables)
    assert opt._updater.updates_by_path == {"fused": 1, "xla": 1}
    np.testing.assert_array_equal(np.asarray(variables[0].numpy(), "float32"), -0.5)
    np.testing.assert_array_equal(variables[1].numpy(), -0.5)
    with pytest.raises(ValueError, match=f"fused=True, but .*float32 and float64 .*{dtype}"):
        keras_optims.GradientDescent(0.5, fused=True).apply(grads, variables)


@pytest.mark.tensorflow
@pytest.mark.parametrize("jit_compile", [True, False])
def test_update_is_xla_compiled_unless_disabled(jit_compile):
    opt = keras_optims.Adam(fused=False, jit_compile=jit_compile)
    compiled = opt._updater._compiled
    run_mode(opt, "eager", gradient_sequence(2))
    # One XLA computation updates every variable (their slots share a buffer).
    assert compiled.experimental_get_tracing_count() == (1 if jit_compile else 0)


@pytest.mark.tensorflow
@pytest.mark.parametrize("compile_arguments, path", [
    ({}, "ops"),  # Keras 3's jit_compile="auto" is off on CPU-only TensorFlow
    ({"jit_compile": False}, "ops"),
    ({"run_eagerly": True}, "ops"),
    ({"jit_compile": True}, "xla"),  # the whole step is one XLA computation
])
def test_fit_follows_the_models_jit_compile_and_run_eagerly(compile_arguments, path):
    """Keras's own switches turn the package's XLA compilation off as well.
    Before: the update ran XLA-compiled under jit_compile=False and
    run_eagerly=True. Outside a model, the optimizer's own jit_compile
    (default True) decides, also on CPU."""
    X, y = regression_data(64)
    model = small_model()
    optimizer = keras_optims.Adam(fused=False)  # what the fused kernel takes never uses XLA
    model.compile(optimizer=optimizer, loss="mse", **compile_arguments)
    model.fit(X, y, batch_size=32, epochs=1, verbose=0)
    assert set(optimizer._updater.updates_by_path) == {path}
    compiled = optimizer._updater._compiled.experimental_get_tracing_count()
    if path == "ops":
        assert compiled == 0
    alone = keras_optims.Adam(fused=False)
    run_mode(alone, "tf.function", gradient_sequence(1))
    assert set(alone._updater.updates_by_path) == {"xla"}


@pytest.mark.tensorflow
def test_where_xla_cannot_run_the_update_runs_as_tensorflow_ops(monkeypatch):
    """A device without XLA (simulated: the probe that compiles a tiny
    function there fails as XLA fails) gets TensorFlow ops and one warning.
    Before: the XLA error stopped training."""
    from keras_optims.backends import tf_update as backend

    def no_xla(x):
        raise tf.errors.UnimplementedError(None, None, "XLA compilation disabled")

    monkeypatch.setattr(backend, "_xla_probe", no_xla)
    monkeypatch.setattr(backend, "_xla_devices", {})
    opt = keras_optims.Adam(fused=False)
    with pytest.warns(RuntimeWarning, match="XLA cannot run on .*XLA compilation disabled.*TensorFlow ops"):
        weights = run_mode(opt, "eager", gradient_sequence(3))
    assert opt._updater.updates_by_path == {"ops": 6}
    reference = run_mode(keras_optims.Adam(fused=False, jit_compile=False), "eager", gradient_sequence(3))
    for got_step, want_step in zip(weights, reference):
        for got, want in zip(got_step, want_step):
            np.testing.assert_array_equal(got, want)


@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_model_saved_with_fused_true_loads_where_the_kernel_cannot_be_built(tmp_path):
    """Before: loading raised NativeUnavailable on a machine without a C++
    compiler."""
    import os
    import subprocess
    import sys
    import textwrap

    X, y = regression_data(64)
    model = small_model()
    model.compile(optimizer=keras_optims.Adam(fused=True), loss="mse")
    model.fit(X, y, batch_size=32, epochs=1, verbose=0)
    model.save(tmp_path / "fused.keras")
    code = f"""
        import warnings
        import numpy as np, keras
        import keras_optims
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = keras.models.load_model({str(tmp_path / "fused.keras")!r})
            model.fit(np.ones((8, 4), "float32"), np.ones((8, 1), "float32"), verbose=0)
        print("FUSED:", model.optimizer.fused, "PATHS:", dict(model.optimizer._updater.updates_by_path))
        print("ITERATIONS:", int(model.optimizer.iterations.numpy()))
        for w in caught:
            print("WARNING:", w.message)
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CXX": "no-such-compiler-here",
           "KERAS_OPTIMS_CACHE_DIR": str(tmp_path / "empty-cache")}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Adam was saved with fused=True, which cannot be honoured here" in out and "no C++ compiler" in out
    assert "FUSED: None PATHS: {'ops': 4}" in out  # Keras 3 fit on CPU: ops (see the test above)
    assert "ITERATIONS: 3" in out


def regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(n)).astype("float32")
    return X, y[:, None]


def small_model(dtype="float32"):
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="tanh", dtype=dtype), keras.layers.Dense(1)]
    )


@pytest.mark.parametrize("model_jit_compile", [False, True])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fit_reduces_the_loss(case, model_jit_compile):
    if model_jit_compile and keras.backend.backend() == "torch":
        pytest.skip("torch.compile per case is slow; test_backends.py compiles Adam and RMSProp")
    X, y = regression_data()
    model = small_model()
    optimizer = make(case)
    model.compile(optimizer=optimizer, loss="mse", jit_compile=model_jit_compile)
    history = model.fit(X, y, batch_size=32, epochs=8, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    assert history[-1] < 0.5 * history[0], history
    assert int(optimizer.iterations.numpy()) == 8 * 256 // 32


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_mixed_float32_and_float64_variables(case):
    """One optimizer updating a float64 and a float32 variable gives each the
    result it gets alone, and keeps its slots in the variable's dtype."""
    grads = random_gradients(10, 6, "float64")
    opt = make(case)
    w64 = keras.Variable(np.ones(6), dtype="float64")
    w32 = keras.Variable(np.ones(6), dtype="float32")
    for g in grads:
        opt.apply([tensor(g, "float64"), tensor(g, "float32")], [w64, w32])
    alone64, _ = run_steps(make(case), np.ones(6), grads, "float64")
    alone32, _ = run_steps(make(case), np.ones(6), grads, "float32")
    np.testing.assert_array_equal(w64.numpy(), alone64[-1])
    np.testing.assert_array_equal(w32.numpy(), alone32[-1])
    for name in opt.slot_names:
        assert keras.backend.standardize_dtype(opt.get_slot(w64, name).dtype) == "float64"
        assert keras.backend.standardize_dtype(opt.get_slot(w32, name).dtype) == "float32"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fit_with_mixed_dtype_layers(case):
    X, y = regression_data()
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="tanh", dtype="float64"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=make(case), loss="mse")
    history = model.fit(X, y, batch_size=32, epochs=8, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0], history
    assert {w.dtype for w in model.trainable_weights} == {"float32", "float64"}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_state_is_the_course_state_plus_keras_counters(case):
    opt = make(case)
    W = keras.Variable(np.zeros((2, 3)), name="kernel")
    opt.build([W])
    names = [v.name for v in opt.variables]
    slots = spec(case).slots
    if keras.backend.backend() == "tensorflow":
        assert names == ["iteration", "learning_rate", *slots]  # one flat buffer per slot
    else:
        assert names == ["iteration", "learning_rate", *(f"kernel_{s}" for s in slots)]  # one per variable
    assert opt.slot_names == slots
    for name in slots:
        assert opt.get_slot(W, name).shape == (2, 3)
    with pytest.raises(ValueError, match="has no slot 'm'"):
        opt.get_slot(W, "m")


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_slot_buffers_are_one_per_slot_and_dtype_and_hold_each_variable_in_order(case):
    opt = make(case)
    variables = [
        keras.Variable(np.zeros((2, 3), "float32"), name="a"),
        keras.Variable(np.zeros(4, "float64"), name="b"),
        keras.Variable(np.zeros(5, "float32"), name="c"),
    ]
    opt.build(variables)
    slots = spec(case).slots
    buffers = {v.name: v for v in opt.variables[2:]}
    assert list(buffers) == [f"{n}_{d}" for n in slots for d in ("float32", "float64")]
    for name in slots:
        assert buffers[f"{name}_float32"].shape == (11,) and buffers[f"{name}_float32"].dtype == "float32"
        assert buffers[f"{name}_float64"].shape == (4,) and buffers[f"{name}_float64"].dtype == "float64"
        buffers[f"{name}_float32"].assign(np.arange(11, dtype="float32"))
        np.testing.assert_array_equal(opt.get_slot(variables[0], name), np.arange(6).reshape(2, 3))
        np.testing.assert_array_equal(opt.get_slot(variables[2], name), np.arange(6, 11))
    # The same bytes as one slot variable per model variable.
    state = sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in opt.variables[2:])
    params = sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)
    assert state == len(slots) * params


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_large_variables_keep_slot_variables_of_their_own_where_xla_updates_them(case):
    """A variable of LARGE elements or more that XLA or TensorFlow ops update
    is not put in the flat buffer (XLA would copy a large buffer to write
    part of it): its slots are variables of its shape. One that the fused
    kernel updates is, so that one op updates every variable of a dtype.
    Every layout gives the same steps."""
    from keras_optims.backends.tensorflow import LARGE

    rng = np.random.default_rng(8)
    shapes = [(LARGE // 512, 512), (7,), (3, 3)]
    sequence = [[rng.standard_normal(s).astype("float32") for s in shapes] for _ in range(3)]
    results = []
    for kernel in ({}, {"fused": False}, {"fused": False, "jit_compile": False}):
        opt = make(case, **kernel)
        variables = [keras.Variable(np.ones(s, "float32"), name=f"w{i}") for i, s in enumerate(shapes)]
        for arrays in sequence:
            opt.apply([tf.constant(g) for g in arrays], variables)
        slots = spec(case).slots
        if kernel:
            assert [v.name for v in opt.variables[2:]] == [n for s in slots for n in (s, f"w0_{s}")]
            assert [tuple(v.shape) for v in opt.variables[2:]] == [(16,), shapes[0]] * len(slots)
        else:
            assert [v.name for v in opt.variables[2:]] == list(slots)
            assert [tuple(v.shape) for v in opt.variables[2:]] == [(LARGE + 16,)] * len(slots)
            assert opt._updater.updates_by_path == {"fused": 9}  # all three variables, three steps, through the kernel
        results.append([v.numpy() for v in variables] + [opt.get_slot(v, n).numpy() for v in variables for n in slots])
    fused, xla, plain = results
    for a, b, c in zip(fused, xla, plain):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_allclose(b, c, rtol=RTOL["float32"], atol=1e-7)


def test_learning_rate_is_exact_in_float64():
    """Keras keeps a float learning rate in a float32 variable (0.01 becomes
    0.009999999776); ours is float64, so a float64 step uses α exactly."""
    opt = keras_optims.GradientDescent(learning_rate=0.01)
    assert opt.learning_rate.dtype == "float64"
    assert float(opt.learning_rate.numpy()) == 0.01
    assert opt.get_config()["learning_rate"] == 0.01
    W, _ = run_steps(opt, [0.0], [[1.0]], "float64")
    assert W[0][0] == -0.01


# Keras's own optimizer arguments act around the rule. Compared against the
# Keras built-in with the same rule (GradientDescent = SGD; Adam in Keras's ε
# mode = keras Adam), in float64 with dyadic values so that Keras's float32
# casts of hyperparameters are exact and only rounding order can differ.
KERAS_ARGUMENTS = [
    {"clipnorm": 0.5},
    {"clipvalue": 0.25},
    {"global_clipnorm": 0.5},
    {"weight_decay": 0.125},
    {"use_ema": True, "ema_momentum": 0.875, "ema_overwrite_frequency": 3},
    {"loss_scale_factor": 4.0},
    {"gradient_accumulation_steps": 3},
]
PAIRS = {
    "GradientDescent": (
        lambda **kw: keras_optims.GradientDescent(learning_rate=0.25, **kw),
        lambda **kw: keras.optimizers.SGD(learning_rate=0.25, **kw),
    ),
    "Adam": (
        lambda **kw: keras_optims.Adam(2.0**-5, 0.875, 1 - 2.0**-10, 2.0**-20, "keras", **kw),
        lambda **kw: keras.optimizers.Adam(2.0**-5, 0.875, 1 - 2.0**-10, 2.0**-20, **kw),
    ),
}


@pytest.mark.parametrize("pair", PAIRS, ids=list(PAIRS))
@pytest.mark.parametrize("kwargs", KERAS_ARGUMENTS, ids=lambda kw: ",".join(kw))
def test_keras_optimizer_arguments_work_as_for_builtins(pair, kwargs):
    ours, theirs = PAIRS[pair]
    grads = random_gradients(12, 8, "float64", seed=3)
    W_ours, _ = run_steps(ours(**kwargs), np.linspace(-1, 1, 8), grads, "float64")
    W_keras, _ = run_steps(theirs(**kwargs), np.linspace(-1, 1, 8), grads, "float64")
    assert_steps_close(W_ours, W_keras, "float64", atol=1e-15)
    W_plain, _ = run_steps(ours(), np.linspace(-1, 1, 8), grads, "float64")
    assert not np.allclose(W_ours, W_plain, rtol=1e-9, atol=0), "the argument had no effect"


LEARNING_RATES = {
    "schedule": lambda: keras.optimizers.schedules.ExponentialDecay(2.0**-5, decay_steps=3, decay_rate=0.5),
    "callable": lambda: (lambda: 2.0**-6),
}


@pytest.mark.parametrize("kind", LEARNING_RATES)
def test_schedules_and_callables_as_learning_rate(kind):
    grads = random_gradients(10, 8, "float32", seed=4)
    args = dict(beta_1=0.875, beta_2=1 - 2.0**-10, epsilon=2.0**-20)
    ours = keras_optims.Adam(LEARNING_RATES[kind](), epsilon_mode="keras", **args)
    theirs = keras.optimizers.Adam(LEARNING_RATES[kind](), **args)
    W_ours, _ = run_steps(ours, np.ones(8), grads, "float32")
    W_keras, _ = run_steps(theirs, np.ones(8), grads, "float32")
    assert_steps_close(W_ours, W_keras, "float32", atol=1e-6)


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sparse_gradient_equals_the_dense_gradient_with_zero_rows(case):
    """Course math on the whole variable: rows without a gradient this step
    still see their averages decay, as with a dense zero gradient. A row
    that comes twice has its gradients summed, as making it dense sums them.
    The sparse side is traced, as in fit; the dense side runs eagerly."""
    rng = np.random.default_rng(5)
    sparse_opt, dense_opt = make(case), make(case)
    W_sparse = keras.Variable(np.ones((6, 3), "float32"))
    W_dense = keras.Variable(np.ones((6, 3), "float32"))
    for step in range(4):
        rows = np.array([step % 6, (step + 2) % 6, step % 6])
        values = rng.standard_normal((3, 3)).astype("float32")
        sparse = tf.IndexedSlices(tf.constant(values), tf.constant(rows), tf.constant([6, 3]))
        tf.function(lambda: sparse_opt.apply([sparse], [W_sparse]))()  # traced, as in fit
        dense_opt.apply([tf.convert_to_tensor(sparse)], [W_dense])
        np.testing.assert_array_equal(W_sparse.numpy(), W_dense.numpy())
        for name in sparse_opt.slot_names:
            np.testing.assert_array_equal(
                sparse_opt.get_slot(W_sparse, name).numpy(), dense_opt.get_slot(W_dense, name).numpy()
            )


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_falls_back_from_xla_under_a_distribution_strategy(case):
    """Under MirroredStrategy (2 logical CPUs) the rule runs as plain TF ops
    and training gives the single-device result. The runs differ only in how
    each batch gradient is summed (one sum vs two half-batch sums, then an
    all-reduce): a few float32 ulps per gradient, which 16 steps on this
    well-conditioned problem keep below 1e-5 relative (measured: < 3e-7)."""
    X, y = regression_data(128)
    results = []
    for strategy in (tf.distribute.get_strategy(), tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = small_model()
            model.compile(optimizer=make(case), loss="mse")
        model.fit(X, y, batch_size=32, epochs=4, shuffle=False, verbose=0)
        results.append((model.get_weights(), model.optimizer))
    (single, single_opt), (mirrored, mirrored_opt) = results
    # small_model() is below the size at which the default takes the kernel.
    assert single_opt.update_path == "tensorflow" and set(single_opt._updater.updates_by_path) == {"ops"}
    assert mirrored_opt._updater._compiled.experimental_get_tracing_count() == 0
    for a, b in zip(mirrored, single):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_xla_writes_each_flat_slot_buffer_once_and_keeps_the_other_slots(case):
    """Under XLA every variable is updated in one computation, which writes
    each slot buffer once, whole. When only some variables have a gradient
    (Keras passes the others over), the untouched variables' slots, which
    sit between and around the updated ones, must come through unchanged."""
    rng = np.random.default_rng(6)
    shapes = [(3, 4), (5,), (2, 2), (7,)]
    sequence = [[rng.standard_normal(s).astype("float32") for s in shapes] for _ in range(4)]
    results = []
    for kernel in ({"fused": False}, {"fused": False, "jit_compile": False}, {"fused": True}):
        opt = make(case, **kernel)
        variables = [keras.Variable(np.ones(s, "float32")) for s in shapes]
        for step, arrays in enumerate(sequence):
            grads = [tf.constant(g) for g in arrays]
            if step % 2:  # only the 1st and 3rd variables this step
                opt.apply([grads[1], grads[3]], [variables[1], variables[3]])
            else:
                opt.apply(grads, variables)
        results.append([v.numpy() for v in variables] + [opt.get_slot(v, n).numpy() for v in variables for n in opt.slot_names])
        if kernel == {"fused": False}:
            assert opt._updater._compiled.experimental_get_tracing_count() == 2  # all four, then two
    for xla, plain, fused in zip(*results):
        np.testing.assert_allclose(xla, plain, rtol=RTOL["float32"], atol=1e-7)
        np.testing.assert_array_equal(fused, plain)
