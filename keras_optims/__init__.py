"""keras-optims: the optimizers of the deep-learning course, exactly as the course
writes them, as real Keras optimizers.

    import keras_optims
    model.compile(optimizer=keras_optims.Adam(), loss="mse")

Importing the package registers every class for Keras serialization, so a
saved `.keras` model loads without `custom_objects`.
"""

from keras_optims import callbacks, native, schedules
from keras_optims.adam import Adam
from keras_optims.gradient_descent import GradientDescent
from keras_optims.momentum import Momentum
from keras_optims.rmsprop import RMSProp

__version__ = "0.1.0"

# A SavedModel whose training step used the fused kernel loads after this
# import (see keras_optims.native); nothing is built here.
native.load_if_built()

__all__ = ["Adam", "GradientDescent", "Momentum", "RMSProp", "callbacks", "schedules"]
