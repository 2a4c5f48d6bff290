"""keras-optims: the optimizers of the deep-learning course, exactly as the course
writes them, as real Keras optimizers.

    import keras_optims
    model.compile(optimizer=keras_optims.Adam(), loss="mse")

Importing the package registers every class for Keras serialization, so a
saved `.keras` model loads without `custom_objects`. It works on every Keras 3
backend (TensorFlow, JAX, PyTorch) and imports TensorFlow only under the
TensorFlow backend (`keras_optims.tf_keras`, the tf_keras flavour, imports it
when imported).

The backend comes from an extra: ``pip install "keras-optims[tensorflow]"``
(or ``[jax]``, ``[torch]``). When the library of the backend Keras is set to
use is not installed, this import raises one ModuleNotFoundError that names
the extra to install (`keras_optims.compat`).
"""

from keras_optims import compat, startup

startup.prepare_verification_cli()  # python -m keras_optims.verification: its backend and logging
compat.check_backend_installed()

with startup.native_log_lines_dropped():
    import keras  # noqa: E402

from keras_optims import callbacks, schedules  # noqa: E402
from keras_optims.adam import Adam  # noqa: E402
from keras_optims.gradient_descent import GradientDescent  # noqa: E402
from keras_optims.momentum import Momentum  # noqa: E402
from keras_optims.rmsprop import RMSProp  # noqa: E402

__version__ = "0.3.0.dev0"  # the one place; pyproject.toml reads it, CHANGELOG.md lists it

if keras.backend.backend() == "tensorflow":
    # A SavedModel whose training step used the fused kernel loads after
    # this import (see keras_optims.native); nothing is built here.
    from keras_optims import native

    native.load_if_built()

__all__ = ["Adam", "GradientDescent", "Momentum", "RMSProp", "callbacks", "schedules"]
