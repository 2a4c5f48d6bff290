"""The test suite runs once per Keras backend: ``KERAS_BACKEND=tensorflow``
(the default), ``jax`` or ``torch`` (`make test` runs all three).

Which backends run a test, by its markers (pyproject.toml lists them):

- ``tensorflow``: the TensorFlow backend only (the fused kernel, XLA paths,
  tf_keras, tf.distribute, SavedModel, …);
- ``once``: one backend only, the one ``KERAS_OPTIMS_ONCE`` names (by
  default TensorFlow): tests whose result cannot depend on the backend
  under test (NumPy reference math, packaging metadata, page text, the
  mutants list, argument parsing) and tests that start every backend in
  processes of their own;
- no marker: every backend.

Which tier runs a test, by its markers; each test is in exactly one:

- no marker: ``make test``, the fast gate a contributor runs before every
  commit (at most 10 minutes on 2 cores);
- ``slow``: ``make check`` adds them (CI): tests that start processes, build
  the kernel, or train for long;
- ``exhaustive``: ``make check-all`` adds them: what does not fit in CI's
  time and proves little that the other tiers do not (each says why).

A plain ``pytest`` runs every tier. Under JAX, 64-bit floats are turned on
(``JAX_ENABLE_X64``), as float64 models need.
"""

import os

BACKEND = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if BACKEND == "jax":
    os.environ.setdefault("JAX_ENABLE_X64", "1")

import keras  # noqa: E402
import pytest  # noqa: E402

if BACKEND == "tensorflow":
    import tensorflow as tf

    # Two logical CPU devices, so that tf.distribute.MirroredStrategy can be
    # tested on one CPU. Must happen before TensorFlow initialises its
    # runtime; everything that does not ask for a strategy keeps running on
    # /cpu:0 alone.
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0],
        [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
    )


# Tests marked `once` run in one backend's run only: the one
# KERAS_OPTIMS_ONCE names, by default TensorFlow's. `make test` puts them in
# its side lane, which is otherwise the lighter one.
ONCE = os.environ.get("KERAS_OPTIMS_ONCE", "tensorflow")
if ONCE not in ("tensorflow", "jax", "torch"):
    raise pytest.UsageError(
        f"KERAS_OPTIMS_ONCE must be one of 'tensorflow', 'jax', 'torch'. Received: KERAS_OPTIMS_ONCE={ONCE!r}"
    )


def pytest_collection_modifyitems(config, items):
    only_tensorflow = pytest.mark.skip(reason=f"TensorFlow backend only (running under {BACKEND})")
    elsewhere = pytest.mark.skip(reason=f"backend-neutral or starts every backend itself: runs under KERAS_OPTIMS_ONCE={ONCE}")
    for item in items:
        if item.get_closest_marker("slow") and item.get_closest_marker("exhaustive"):
            raise pytest.UsageError(f"{item.nodeid} is marked both slow and exhaustive: a test is in one tier")
        # The markers, not a parameter id that says "tensorflow".
        if BACKEND != "tensorflow" and item.get_closest_marker("tensorflow"):
            item.add_marker(only_tensorflow)
        elif BACKEND != ONCE and item.get_closest_marker("once"):
            item.add_marker(elsewhere)


def pytest_report_header(config):
    return f"Keras backend: {BACKEND}"


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(params=["keras", "tf_keras"] if BACKEND == "tensorflow" else ["keras"])
def flavour(request):
    """The module holding the optimizer classes of one Keras flavour (under
    JAX and PyTorch, Keras 3 only)."""
    import keras_optims

    if request.param == "keras":
        return keras_optims
    import keras_optims.tf_keras

    return keras_optims.tf_keras


KERNELS = {
    "default": {},  # as the backend runs it by default
    "fused": {"fused": True},  # the native multi-tensor kernel (TensorFlow's CPU default)
    "xla": {"fused": False},  # the XLA update (what runs where the kernel cannot)
    "ops": {"fused": False, "jit_compile": False},  # plain TensorFlow ops
}

OPTIMIZER_PATHS = {
    "tensorflow": [("keras", "fused"), ("keras", "xla"), ("keras", "ops"), ("tf_keras", "fused"), ("tf_keras", "xla")],
    "jax": [("keras", "default")],
    "torch": [("keras", "default")],
}


@pytest.fixture(params=OPTIMIZER_PATHS[BACKEND], ids=lambda p: "-".join(p))
def optimizers(request):
    """The four optimizer classes of one Keras flavour, each made to run its
    update one way (`KERNELS`): every hand-computed table runs through every
    path an update can take on the backend."""
    import functools
    import types

    import keras_optims

    if request.param[0] == "keras":
        module = keras_optims
    else:
        import keras_optims.tf_keras as module
    kernel = KERNELS[request.param[1]]
    names = ("GradientDescent", "Momentum", "RMSProp", "Adam")
    return types.SimpleNamespace(**{n: functools.partial(getattr(module, n), **kernel) for n in names})


# Modules about TensorFlow alone, not collected under the other backends.
TENSORFLOW_MODULES = [
    "test_examples.py",
    "test_native.py",
    "test_native_trust.py",
    "test_reliability.py",  # tf.distribute, LossScaleOptimizer, BackupAndRestore on TensorFlow
    "test_tensorflow_backend.py",
    "test_tf_keras.py",
]
collect_ignore = TENSORFLOW_MODULES if BACKEND != "tensorflow" else []
