"""The TensorFlow-specific helpers keep float64 scalars exact."""

import numpy as np
import tensorflow as tf

from keras_optims.backends.tf_update import Math, as_float64, dense


def test_python_floats_reach_float64_exactly():
    # tf.cast(0.9, tf.float64) goes through float32 and gives 0.8999999761581421.
    assert float(tf.cast(0.9, tf.float64)) != 0.9
    reference = tf.zeros([], tf.float64)
    assert float(Math.like(0.9, reference)) == 0.9
    assert float(Math.like(np.float64(1e-8), reference)) == 1e-8
    assert float(as_float64(0.9)) == 0.9
    assert float(as_float64(tf.constant(0.5, tf.float32))) == 0.5


def test_like_casts_tensors_and_rounds_once_to_float32():
    reference = tf.zeros([], tf.float32)
    assert Math.like(tf.constant(0.1, tf.float64), reference).dtype == tf.float32
    assert float(Math.like(0.1, reference)) == float(np.float32(0.1))


def test_sparse_gradients_become_dense():
    sparse = tf.IndexedSlices(tf.constant([[1.0, 2.0]]), tf.constant([2]), tf.constant([3, 2]))
    np.testing.assert_array_equal(dense(sparse).numpy(), [[0, 0], [0, 0], [1, 2]])
    plain = tf.constant([1.0])
    assert dense(plain) is plain
