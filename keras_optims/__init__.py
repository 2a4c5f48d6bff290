"""keras-optims: the optimizers of the deep-learning course, exactly as the course
writes them, as real Keras optimizers.

    import keras_optims
    model.compile(optimizer=keras_optims.Adam(), loss="mse")

Importing the package registers every class for Keras serialization, so a
saved `.keras` model loads without `custom_objects`. It works on every Keras 3
backend (TensorFlow, JAX, PyTorch) and imports TensorFlow only under the
TensorFlow backend (`keras_optims.tf_keras`, the tf_keras flavour, imports it
when imported).
"""

import keras

from keras_optims import callbacks, schedules
from keras_optims.adam import Adam
from keras_optims.gradient_descent import GradientDescent
from keras_optims.momentum import Momentum
from keras_optims.rmsprop import RMSProp

__version__ = "0.2.0.dev0"  # the one place; pyproject.toml reads it, CHANGELOG.md lists it

if keras.backend.backend() == "tensorflow":
    # A SavedModel whose training step used the fused kernel loads after
    # this import (see keras_optims.native); nothing is built here.
    from keras_optims import native

    native.load_if_built()

__all__ = ["Adam", "GradientDescent", "Momentum", "RMSProp", "callbacks", "schedules"]
