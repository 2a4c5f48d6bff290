"""Every Keras 3 backend: what runs where, what is refused, and the ways of
training that each backend offers (fit, a custom loop, JAX's stateless
API). The numbers themselves are checked by every other test module, which
runs under each backend (`make test`)."""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import keras
import keras_optims
from keras_optims.verification import reference
from registry import CASE_IDS, CASES, make, spec

BACKEND = keras.backend.backend()


def run_python(code, backend, **env):
    environment = {**os.environ, "KERAS_BACKEND": backend, **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, env=environment
    )


@pytest.mark.slow
@pytest.mark.tensorflow  # starts its own process; once is enough
def test_an_unsupported_backend_raises_when_the_optimizer_is_created():
    """Keras's numpy backend (the scipy it needs comes with scikit-learn, of
    the test extra). Keras's openvino backend would go the same way, but
    needs the openvino package: a case for it was always skipped."""
    backend = "numpy"
    done = run_python(
        """
        import keras_optims
        try:
            keras_optims.Adam()
        except ValueError as error:
            print("ERROR:", error)
        """,
        backend,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    message = done.stdout.split("ERROR:", 1)[1]
    assert repr(backend) in message and "tensorflow, jax, torch" in message


NO_TENSORFLOW = """
import sys

# As on a machine without them: `import tensorflow` raises ImportError and
# importlib.util.find_spec("tensorflow") is None.
sys.modules["tensorflow"] = None
sys.modules["tf_keras"] = None
"""


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "tensorflow", reason="about the JAX and PyTorch backends")
def test_works_where_tensorflow_is_not_installed():
    """Under JAX or PyTorch, with TensorFlow unimportable: the optimizers,
    a schedule, the callbacks and verify() work, and TensorFlow was never
    imported."""
    done = run_python(
        NO_TENSORFLOW
        + """
import numpy as np
import keras
import keras_optims
from keras_optims import schedules
from keras_optims.callbacks import EWMA, LearningRateLogger, TrajectoryRecorder
from keras_optims.verification import verify

x = np.random.default_rng(0).standard_normal((64, 2)).astype("float32")
y = (x[:, 0] * x[:, 1] > 0).astype("float32")
for optimizer in (keras_optims.Adam(), keras_optims.Momentum(schedules.InverseTimeEpochDecay(0.1, 1.0, 4))):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0,
                        callbacks=[EWMA(), LearningRateLogger(), TrajectoryRecorder()])
    assert np.all(np.isfinite(history.history["ewma_loss"]))
report = verify(keras_optims.Adam(0.01), steps=20, dtype="float32")
assert report.passed, report
print("TENSORFLOW IMPORTED:", sys.modules["tensorflow"] is not None)
""",
        BACKEND,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TENSORFLOW IMPORTED: False" in done.stdout


@pytest.mark.skipif(BACKEND == "tensorflow", reason="the TensorFlow backend's fused kernel: test_native.py")
def test_fused_true_is_refused_where_there_is_no_fused_kernel_and_such_a_config_still_loads():
    """fused=True: torch's fused SGD and Adam kernels for gradient descent,
    momentum, course RMSProp and Adam (both ε forms) under PyTorch; refused
    for RMSProp's Keras ε form there and for everything under JAX. A config saved with
    fused=True loads anyway, with a warning, as fused=None."""
    with pytest.raises(ValueError, match="Argument `fused` cannot be True here.*Received: fused=True"):
        keras_optims.RMSProp(fused=True, epsilon_mode="keras")
    if BACKEND == "torch":
        for make_fused in (keras_optims.Adam, keras_optims.RMSProp, keras_optims.Momentum,
                           keras_optims.GradientDescent):
            assert make_fused(fused=True).fused is True
        assert keras_optims.Adam(fused=True, epsilon_mode="keras").fused is True
        with pytest.raises(ValueError, match=r"course RMSProp \(epsilon_mode='course'\)"):
            keras_optims.RMSProp(fused=True, epsilon_mode="keras")
    else:
        with pytest.raises(ValueError, match="backend is jax"):
            keras_optims.Adam(fused=True)
    config = keras_optims.RMSProp(0.01, epsilon_mode="keras").get_config()
    with pytest.warns(UserWarning, match="saved with fused=True"):
        rebuilt = keras_optims.RMSProp.from_config({**config, "fused": True})
    assert rebuilt.fused is None and rebuilt.get_config()["learning_rate"] == 0.01


@pytest.mark.skipif(BACKEND != "torch", reason="torch's fused Adam")
def test_torch_fused_adam_and_the_multi_tensor_rule_take_the_same_steps():
    """Course Adam runs in torch's fused kernel by default and as the rule's
    multi-tensor ops with fused=False: the same steps up to rounding (each
    is checked against the course's math by the verification suite)."""
    from support import random_gradients, run_steps

    grads = random_gradients(50, 16, "float64", seed=5)
    fused, fused_slots = run_steps(keras_optims.Adam(0.01), np.linspace(-1, 1, 16), grads, "float64")
    plain, plain_slots = run_steps(keras_optims.Adam(0.01, fused=False), np.linspace(-1, 1, 16), grads, "float64")
    np.testing.assert_allclose(fused, plain, rtol=1e-13, atol=1e-15)
    for name in ("v", "s"):
        np.testing.assert_allclose(fused_slots[name], plain_slots[name], rtol=1e-12, atol=1e-30)
    assert not np.array_equal(fused, plain)  # two different computations, not one path twice


# Non-default hyperparameters in both ε modes: each rule's every scalar is
# used (β, 1 − β, ε, the bias corrections) and none is a round number.
TORCH_CASES = {
    "gradient-descent": lambda fused: keras_optims.GradientDescent(0.037, fused=fused),
    "momentum": lambda fused: keras_optims.Momentum(0.037, beta=0.83, fused=fused),
    "momentum-beta-0": lambda fused: keras_optims.Momentum(0.037, beta=0.0, fused=fused),
    "momentum-bias-corrected": lambda fused: keras_optims.Momentum(0.037, beta=0.83, bias_correction=True, fused=fused),
    "rmsprop": lambda fused: keras_optims.RMSProp(0.037, beta=0.93, epsilon=1e-3, fused=fused),
    "rmsprop-beta-0": lambda fused: keras_optims.RMSProp(0.037, beta=0.0, epsilon=1e-3, fused=fused),
    "rmsprop-keras": lambda fused: keras_optims.RMSProp(0.037, beta=0.93, epsilon=1e-3, epsilon_mode="keras",
                                                         fused=fused),
    "adam": lambda fused: keras_optims.Adam(0.037, beta_1=0.83, beta_2=0.97, epsilon=1e-3, fused=fused),
    "adam-keras": lambda fused: keras_optims.Adam(0.037, beta_1=0.83, beta_2=0.97, epsilon=1e-3, epsilon_mode="keras",
                                                  fused=fused),
}


def torch_steps(optimizer, dtype, steps=12):
    """`steps` of `optimizer.apply` on three variables (one scalar), with
    gradients whose squares are near ε; and the same steps of the rule as
    `rules.py` writes it, out of place on `backends.torch.Tensors`: (ours,
    the rule's) values of every variable and slot, each step."""
    import torch

    from keras_optims.backends import torch as backend

    rng = np.random.default_rng(11)
    shapes = [(4, 3), (5,), ()]
    initial = [np.asarray(rng.standard_normal(shape), dtype) for shape in shapes]  # 0-d arrays, not floats
    variables = [keras.Variable(w) for w in initial]
    optimizer.build(variables)
    updater = optimizer._updater
    W = [torch.tensor(w) for w in initial]
    slots = [[torch.zeros(shape, dtype=W[0].dtype) for shape in shapes] for _ in updater.slot_names]
    ours, rule = [], []
    for t in range(1, steps + 1):
        gradients = [np.asarray(rng.standard_normal(shape) * 0.03, dtype) for shape in shapes]
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in gradients], variables)
        ours.append([keras.ops.convert_to_numpy(v) for v in variables]
                    + [keras.ops.convert_to_numpy(optimizer.get_slot(v, name)) for name in updater.slot_names
                       for v in variables])
        new = updater.rule(backend.Tensors(W), backend.Tensors(torch.tensor(g) for g in gradients),
                           *map(backend.Tensors, slots), lr=backend.as_float64(0.037, "cpu"),
                           t=backend.as_float64(t, "cpu"), math=backend.Math)
        W, slots = new[0].items, [value.items for value in new[1:]]
        rule.append([w.numpy() for w in W] + [s.numpy() for values in slots for s in values])
    return ours, rule


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's multi-tensor ops")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_torch_in_place_steps_are_the_rules_bit_for_bit(case, dtype):
    """fused=False: every rule runs as in-place multi-tensor ops that round
    where the rule's expression rounds, so every variable and slot is bit-
    for-bit what the rule computes, step after step."""
    ours, rule = torch_steps(TORCH_CASES[case](False), dtype)
    for step, (mine, theirs) in enumerate(zip(ours, rule), start=1):
        for a, b in zip(mine, theirs):
            assert a.dtype == b.dtype == dtype
            np.testing.assert_array_equal(a, b, err_msg=f"step {step}")


@pytest.mark.skipif(BACKEND != "torch", reason="torch's fused kernels")
@pytest.mark.parametrize("case", ["gradient-descent", "momentum", "momentum-beta-0", "momentum-bias-corrected",
                                  "rmsprop", "rmsprop-beta-0", "adam", "adam-keras"])
def test_torch_fused_kernels_take_the_rules_steps(case, monkeypatch):
    """By default momentum runs in torch's fused SGD kernel (dampening β, a
    buffer that starts at zero), course RMSProp in its fused Adam kernel
    (β₁ = 0, bias corrections of exactly 1), Adam in it too (Keras's ε form
    with ε/√(1 − β₂ᵗ) for ε), gradient descent (and momentum with β = 0) as
    one multiply-add pass: the rule's steps up to rounding
    (float64: 1e-14 relative, a few roundings in each of 12 steps), slots
    included; and the gradients, which the RMSProp kernel takes as its first
    moment's buffer, are left as they were."""
    import torch

    calls = []
    for name in ("_fused_sgd_", "_fused_adam_", "_foreach_add_", "_foreach_copy_"):
        original = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda *a, _f=original, _n=name, **k: (calls.append(_n), _f(*a, **k))[1])
    optimizer = TORCH_CASES[case](None)
    ours, rule = torch_steps(optimizer, "float64")
    expected = {"gradient-descent": {"_foreach_add_"}, "momentum-beta-0": {"_foreach_copy_", "_foreach_add_"},
                "rmsprop": {"_fused_adam_"}, "rmsprop-beta-0": {"_fused_adam_"}, "adam": {"_fused_adam_"},
                "adam-keras": {"_fused_adam_"}}
    assert set(calls) == expected.get(case, {"_fused_sgd_"})
    for step, (mine, theirs) in enumerate(zip(ours, rule), start=1):
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-16, err_msg=f"step {step}")
    # Gradients as views (strided, broadcast): the step is the one their
    # contiguous copies give (before: the fused kernels read a view as a
    # contiguous block, the wrong elements), and they are left as they were.
    twin = TORCH_CASES[case](None)
    torch_steps(twin, "float64")
    views = [keras.ops.convert_to_tensor(np.linspace(-1, 1, 12).reshape(4, 3)), None,
             keras.ops.convert_to_tensor(np.float64(0.5), dtype="float64")]
    views[0] = views[0].t().contiguous().t()  # column-major: not contiguous
    views[1] = keras.ops.convert_to_tensor(np.array([0.25])).expand(5)  # one element, broadcast
    before = [keras.ops.convert_to_numpy(g).copy() for g in views]
    assert not views[0].is_contiguous() and not views[1].is_contiguous()
    optimizer.apply(views, optimizer._trainable_variables)
    twin.apply([torch.tensor(b) for b in before], twin._trainable_variables)
    for gradient, value in zip(views, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(gradient), value)
    for mine, theirs in zip(optimizer._trainable_variables, twin._trainable_variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(theirs))


def data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 3)).astype("float32")
    return X, (X @ np.array([[1.0], [-2.0], [0.5]], dtype="float32"))


def small_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_custom_training_loop_gives_the_steps_of_fit(case):
    """The backend's own way of writing a training loop (GradientTape,
    jax.grad with stateless_call, torch autograd) and `optimizer.apply`:
    the same weights as `fit` over the same batches."""
    X, y = data()
    fitted = small_model()
    fitted.compile(optimizer=make(case), loss="mse")
    fitted.fit(X, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    model, optimizer = small_model(), make(case)
    loss_fn = keras.losses.MeanSquaredError()
    for _ in range(2):
        for start in range(0, 64, 16):
            xb, yb = X[start : start + 16], y[start : start + 16]
            grads = gradients(model, loss_fn, xb, yb)
            optimizer.apply(grads, model.trainable_variables)
    for a, b in zip(model.get_weights(), fitted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 8


def gradients(model, loss_fn, xb, yb):
    """The gradient of the loss with respect to the trainable variables, the
    backend's own way."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        return tape.gradient(loss, model.trainable_variables)
    if BACKEND == "jax":
        import jax

        def loss_of(trainable):
            out, _ = model.stateless_call(trainable, [v.value for v in model.non_trainable_variables], xb, training=True)
            return loss_fn(yb, out)

        return jax.grad(loss_of)([v.value for v in model.trainable_variables])
    model.zero_grad()
    loss = loss_fn(keras.ops.convert_to_tensor(yb), model(keras.ops.convert_to_tensor(xb), training=True))
    loss.backward()
    return [v.value.grad for v in model.trainable_variables]


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's stateless API")
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_stateless_apply_in_a_users_jax_jit_loop_follows_the_reference(case):
    """A user's own `jax.jit` step with `optimizer.stateless_apply`: every
    step equals the course's math (reference/) within the float64
    tolerance of the verification suite."""
    import jax

    from keras_optims.verification import registry
    from keras_optims.verification.harness import gradient_sequence

    optimizer = make(case)
    reference_of = registry.reference_for(optimizer)
    arguments = reference_of.arguments(optimizer.get_config())
    weights, grads = gradient_sequence(30, seed=2)
    variables = [keras.Variable(w) for w in weights]
    optimizer.build(variables)

    @jax.jit
    def step(trainable, state, g):
        return optimizer.stateless_apply(state, g, trainable)

    trainable = [v.value for v in variables]
    state = [v.value for v in optimizer.variables]
    ours = [w.copy() for w in weights]
    ours_state = [tuple(np.zeros_like(w) for _ in reference_of.slots) for w in weights]
    lr = float(optimizer.get_config()["learning_rate"])
    for t, g in enumerate(grads, start=1):
        trainable, state = step(trainable, state, [jax.numpy.asarray(x) for x in g])
        for i, dW in enumerate(g):
            W, *new = reference_of.step(ours[i], dW, *ours_state[i], t, lr=lr, **arguments)
            ours[i], ours_state[i] = W, tuple(new)
            np.testing.assert_allclose(np.asarray(trainable[i]), W, rtol=1e-12, atol=1e-12 * np.abs(W).max())
    # The optimizer's own variables were never touched: the state is the user's.
    assert int(optimizer.iterations.numpy()) == 0
    assert int(np.asarray(state[0])) == 30


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's multi-tensor ops")
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_torch_step_is_a_fixed_number_of_multi_tensor_ops_whatever_the_variable_count(case, monkeypatch):
    """One `torch._foreach_*` call per operation of the rule for all
    variables of a dtype (one `torch._fused_adam_` call for course Adam):
    200 variables take as many calls as 2."""
    import torch

    calls = []
    for name in dir(torch):
        if name.startswith(("_foreach_", "_fused_")):
            original = getattr(torch, name)
            monkeypatch.setattr(torch, name, lambda *a, _f=original, _n=name, **k: (calls.append(_n), _f(*a, **k))[1])

    def count(n):
        variables = [keras.Variable(np.ones(5, "float32")) for _ in range(n)]
        optimizer = make(case)
        optimizer.build(variables)
        calls.clear()
        optimizer.apply([keras.ops.ones((5,)) for _ in range(n)], variables)
        return len(calls)

    assert count(200) == count(2) > 0


def test_float64_learning_rate_exists_where_float64_does():
    opt = keras_optims.Adam(0.01)
    assert keras.backend.standardize_dtype(opt.learning_rate.dtype) == "float64"
    assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == 0.01


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "jax", reason="JAX without jax_enable_x64")
def test_jax_without_x64_runs_in_float32_and_float64_verify_says_why():
    done = run_python(
        """
        import keras, keras_optims
        from keras_optims.verification import verify
        opt = keras_optims.Adam(0.01)
        print("LR", keras.backend.standardize_dtype(opt.learning_rate.value.dtype))
        print("FLOAT32", verify(keras_optims.Adam(0.01), steps=50, dtype="float32").passed)
        try:
            verify(keras_optims.Adam(0.01), dtype="float64")
        except ValueError as error:
            print("ERROR:", error)
        """,
        "jax",
        JAX_ENABLE_X64="0",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LR float32" in done.stdout and "FLOAT32 True" in done.stdout
    assert "JAX_ENABLE_X64=1" in done.stdout.split("ERROR:", 1)[1]


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile")
@pytest.mark.parametrize("make_optimizer", [lambda: keras_optims.Adam(0.01), lambda: keras_optims.RMSProp(0.01)], ids=["adam", "rmsprop"])
def test_jit_compile_under_pytorch_trains_as_eager_does(make_optimizer):
    """model.compile(jit_compile=True) is torch.compile under PyTorch: the
    rule's multi-tensor ops are compiled, torch's fused Adam runs as it is.

    Where torch.compile cannot compile Keras's train step at all (measured:
    torch 2.4.0 with keras 3.11.0, an InternalTorchDynamoError in Keras's
    loss code, with Keras's own Adam as with ours; torch 2.13 and 2.15 with
    keras 3.15 compile it), this is skipped, naming that error."""
    X, y = data()
    builtin = small_model()
    builtin.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", jit_compile=True)
    try:
        builtin.fit(X, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    except Exception as error:  # Keras's own optimizer: nothing of ours is involved
        pytest.skip(f"torch.compile fails on Keras's train step with keras.optimizers.Adam too: "
                    f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
    weights = []
    for jit_compile in (False, True):
        model = small_model()
        model.compile(optimizer=make_optimizer(), loss="mse", jit_compile=jit_compile)
        model.fit(X, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for eager, compiled in zip(*weights):
        np.testing.assert_allclose(compiled, eager, rtol=1e-5, atol=1e-6)
