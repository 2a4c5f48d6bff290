import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPU devices, so that tf.distribute.MirroredStrategy can be tested
# on one CPU. Must happen before TensorFlow initialises its runtime; everything
# that does not ask for a strategy keeps running on /cpu:0 alone.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(params=["keras", "tf_keras"])
def flavour(request):
    """The module holding the optimizer classes of one Keras flavour."""
    import keras_optims
    import keras_optims.tf_keras

    return keras_optims if request.param == "keras" else keras_optims.tf_keras


KERNELS = {
    "fused": {"fused": True},  # the native multi-tensor kernel (CPU default)
    "xla": {"fused": False},  # the XLA update (what runs where the kernel cannot)
    "ops": {"fused": False, "jit_compile": False},  # plain TensorFlow ops
}


@pytest.fixture(
    params=[
        ("keras", "fused"),
        ("keras", "xla"),
        ("keras", "ops"),
        ("tf_keras", "fused"),
        ("tf_keras", "xla"),
    ],
    ids=lambda p: "-".join(p),
)
def optimizers(request):
    """The four optimizer classes of one Keras flavour, each made to run its
    update one way (`KERNELS`): every hand-computed table runs through every
    path an update can take."""
    import functools
    import types

    import keras_optims
    import keras_optims.tf_keras

    module = keras_optims if request.param[0] == "keras" else keras_optims.tf_keras
    kernel = KERNELS[request.param[1]]
    names = ("GradientDescent", "Momentum", "RMSProp", "Adam")
    return types.SimpleNamespace(**{n: functools.partial(getattr(module, n), **kernel) for n in names})
