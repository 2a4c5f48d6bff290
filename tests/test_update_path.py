"""Which path an update takes (`optimizer.update_path`), chosen once when the
optimizer is built: on TensorFlow the fused kernel for a model of any size
but the smallest, TensorFlow ops for those (the kernel's call costs more
than their update); each path verified against the course's math."""

import functools

import numpy as np
import pytest

import keras

import keras_optims
from keras_optims.verification import check
from keras_optims.verification.reference import forms

BACKEND = keras.backend.backend()
COURSE_NET = ((2, 5), (5,), (5, 2), (2,), (2, 1), (1,))  # the course's 2-5-2-1 network: 21 parameters
LARGE = ((512, 512), (512,))  # 262,656 parameters


def built(optimizer, shapes):
    optimizer.build([keras.Variable(np.zeros(shape, "float32")) for shape in shapes])
    return optimizer


def test_the_path_is_none_before_the_optimizer_is_built():
    assert keras_optims.Adam().update_path is None


@pytest.mark.parametrize("name", ["GradientDescent", "Momentum", "RMSProp", "Adam"])
def test_the_default_path_by_size(name):
    """TensorFlow: TensorFlow ops for the course's network, the kernel for a
    large model. JAX: always XLA. PyTorch: torch's kernels whatever the
    size (measured: they are not slower on the course's network)."""
    cls = getattr(keras_optims, name)
    small, large = built(cls(), COURSE_NET).update_path, built(cls(), LARGE).update_path
    expected = {"tensorflow": ("tensorflow", "fused"), "jax": ("xla", "xla"), "torch": ("fused", "fused")}[BACKEND]
    assert (small, large) == expected


@pytest.mark.tensorflow
def test_fused_true_and_false_force_the_path_at_any_size():
    assert built(keras_optims.Adam(fused=True), COURSE_NET).update_path == "fused"
    assert built(keras_optims.Adam(fused=False), LARGE).update_path == "tensorflow"


@pytest.mark.tensorflow
def test_the_crossover_is_where_it_was_measured():
    """Just below and just above both limits (elements and variables)."""
    from keras_optims.backends import tf_update

    elements, count = tf_update.SMALL_MODEL_ELEMENTS, tf_update.SMALL_MODEL_VARIABLES
    per_variable = elements // count
    assert built(keras_optims.Adam(), [(per_variable,)] * count).update_path == "tensorflow"
    assert built(keras_optims.Adam(), [(per_variable,)] * (count - 1) + [(elements,)]).update_path == "fused"
    assert built(keras_optims.Adam(), [(1,)] * (count + 1)).update_path == "fused"


@pytest.mark.tensorflow
@pytest.mark.parametrize("shapes, path", [(COURSE_NET, "tensorflow"), (((300, 300), (300,)), "fused")],
                         ids=["course-net", "large"])
def test_each_default_path_is_the_courses_adam(shapes, path):
    """The path each size takes by default, in a compiled step, against the
    course's Adam step by step (the verification suite also runs every
    optimizer with the path forced each way)."""
    optimizer = keras_optims.Adam(0.01)
    step = functools.partial(forms.adam_course, beta1=0.9, beta2=0.999, eps=1e-8)
    report = check(optimizer, step, slots={"v": lambda o, v: o.get_slot(v, "v"), "s": lambda o, v: o.get_slot(v, "s")},
                   steps=5, shapes=shapes)
    assert report.passed, report
    assert optimizer.update_path == path
    assert set(optimizer._updater.updates_by_path) == {"fused" if path == "fused" else "xla"}


def fit_course_net(optimizer):
    """The course's network, fitted for two steps with `optimizer`."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(2, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    x = np.random.default_rng(0).standard_normal((128, 2)).astype("float32")
    model.fit(x, (x[:, 0] > 0).astype("float32"), batch_size=64, epochs=1, verbose=0)
    return model


@pytest.mark.tensorflow
def test_a_tiny_model_in_fit_runs_tensorflow_ops():
    """The course's network in fit: no kernel call at any step."""
    model = fit_course_net(keras_optims.Adam())
    assert model.optimizer.update_path == "tensorflow"
    assert set(model.optimizer._updater.updates_by_path) == {"ops"}  # Keras's fit leaves XLA off on CPU


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", ["GradientDescent", "Momentum", "RMSProp", "Adam"])
def test_tensorflow_ops_write_each_weight_as_one_subtraction(name):
    """On the TensorFlow-ops path, traced in fit, each weight is written as
    ``assign_sub(Δ)`` (as Keras's optimizers write it), not read, subtracted
    and assigned: two ops fewer per variable, on a model whose step is
    mostly such per-op costs. (That the values are the course's: the
    verification suite, which traces the same update.)"""
    import tensorflow as tf

    model = fit_course_net(getattr(keras_optims, name)())
    assert model.optimizer.update_path == "tensorflow"
    traced = next(cell.cell_contents for cell in model.train_function.__closure__
                  if isinstance(cell.cell_contents, tf.types.experimental.GenericFunction))
    graph = traced._list_all_concrete_functions()[0].graph.as_graph_def()
    ops = [node.op for function in graph.library.function for node in function.node_def]
    assert ops.count("AssignSubVariableOp") == len(model.trainable_variables) == 6
