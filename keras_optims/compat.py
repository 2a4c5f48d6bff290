"""What differs between the installs keras-optims supports, in one place.

Two kinds of difference live here, and nowhere else:

- **which backend library is installed.** `pip install keras-optims` brings
  Keras and NumPy only; the backend comes from an extra
  (``keras-optims[tensorflow]``, ``[jax]``, ``[torch]``). Keras imports its
  backend's library when Keras itself is imported, so a missing one is found
  here first, before ``import keras``, and reported once, naming the extra to
  install (`check_backend_installed`).
- **which release is installed.** Each switch below names the releases it
  covers. The ranges themselves are in ``pyproject.toml``, and every end of
  every range is a configuration of ``make test-compat``
  (``tests/compat/matrix.toml``): raising a cap means adding the switch the new
  release needs here, moving the newest configuration, and running the
  matrix.

This module imports neither Keras nor any backend library at import time.
"""

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import typing

class Backend(typing.NamedTuple):
    """What the package, its installs and its verification suite need to know
    of one Keras 3 backend."""

    module: str  # the library Keras imports for it
    title: str  # its name for people
    extra: str  # the extra that installs it
    distributions: tuple  # the distributions whose versions a verification run reports
    other_path: str  # what fused=False runs instead of the default update ("": the same)
    suite_processes: int  # the verification suite's processes on two CPUs (suite.run: measured there)


# The Keras 3 backends keras-optims runs on: the one table of them.
BACKENDS = {
    "tensorflow": Backend("tensorflow", "TensorFlow", "keras-optims[tensorflow]", ("tensorflow",), "XLA", 2),
    "jax": Backend("jax", "JAX", "keras-optims[jax]", ("jax", "jaxlib"), "", 2),
    "torch": Backend("torch", "PyTorch", "keras-optims[torch]", ("torch",), "in-place multi-tensor ops", 1),
}


def release(distribution):
    """The installed release of a distribution as a tuple of ints, e.g.
    (3, 11, 0) for keras 3.11.0 or (2, 4, 0) for torch 2.4.0+cu121; None
    when it is not installed."""
    from packaging.version import Version  # a dependency of Keras

    try:
        return Version(importlib.metadata.version(distribution)).release
    except importlib.metadata.PackageNotFoundError:
        return None


# --- Which backend, and whether its library is there ----------------------


def configured_backend():
    """The backend Keras will use when it is imported, and where that choice
    comes from: ``KERAS_BACKEND``, else the ``backend`` of Keras's config
    file (``$KERAS_HOME/keras.json``, else ``~/.keras/keras.json``), else
    Keras's default, TensorFlow. Reads what Keras reads, without importing
    Keras."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    path = os.path.join(home, "keras.json")
    try:
        with open(path, encoding="utf-8") as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    if isinstance(backend, str) and backend:
        return backend, path
    return "tensorflow", "Keras's default; KERAS_BACKEND is not set"


def missing_backend_message(backend, source):
    """The error for a backend whose library is not installed."""
    title, extra = BACKENDS[backend].title, BACKENDS[backend].extra
    installed = [name for name in installed_backends() if name != backend]
    choose = (
        f" or choose an installed backend: KERAS_BACKEND={installed[0]}" if installed
        else " or install another backend's extra and set KERAS_BACKEND to it"
    )
    return (
        f"Keras's backend is {backend!r} ({source}), and {title} is not installed. "
        f"Install it with: pip install \"{extra}\"{choose} "
        f"(keras-optims runs on {', '.join(BACKENDS)})."
    )


def installed_backends():
    """The backends of `BACKENDS` whose library is installed, in its order."""
    return [name for name, backend in BACKENDS.items() if _importable(backend.module)]


def _importable(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_backend_installed():
    """Raises ModuleNotFoundError naming the extra to install when the
    backend Keras will use is one of keras-optims's and its library is not
    installed. Nothing to check once Keras is imported (it imported its
    backend then), or for another backend (`keras_optims.backends` says
    which are supported when an optimizer is created)."""
    if "keras" in sys.modules:
        return
    backend, source = configured_backend()
    if backend in BACKENDS and not _importable(BACKENDS[backend].module):
        raise ModuleNotFoundError(missing_backend_message(backend, source), name=BACKENDS[backend].module)


def import_tf_keras():
    """`tf_keras`, or ModuleNotFoundError naming ``keras-optims[tensorflow]``
    (tf-keras and the TensorFlow it needs)."""
    try:
        import tf_keras
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in ("tf_keras", "tensorflow"):
            raise
        raise ModuleNotFoundError(
            f"keras_optims.tf_keras needs tf-keras and TensorFlow ({error}). Install them with: "
            "pip install \"keras-optims[tensorflow]\"",
            name=error.name,
        ) from error
    return tf_keras


# --- Release switches ------------------------------------------------------


@contextlib.contextmanager
def jax_x64():
    """A context in which JAX creates 64-bit arrays: ``jax.enable_x64``
    (jax 0.8 and newer), ``jax.experimental.enable_x64`` (jax 0.5.3–0.8; it
    was removed in 0.9)."""
    import jax

    if hasattr(jax, "enable_x64"):  # jax >= 0.8
        with jax.enable_x64(True):
            yield
    else:  # jax 0.5.3 - 0.7
        from jax.experimental import enable_x64

        with enable_x64():
            yield


# Arguments that newer Keras releases write into layer and initializer
# configs, with the release that added each. An older Keras refuses a config
# that carries one ("Unrecognized keyword arguments", "unexpected keyword
# argument"), so a `.keras` file saved by keras 3.15 does not load in 3.11–3.14
# whatever its optimizer (Keras promises no forward compatibility).
KERAS_CONFIG_ARGUMENTS_SINCE = {
    "quantization_config": (3, 13),  # Dense, EinsumDense, Embedding
    "input_axes": (3, 15),  # the variance-scaling initializers (GlorotUniform, …)
    "output_axes": (3, 15),
}


def keras_config_arguments_unknown_here():
    """The arguments of `KERAS_CONFIG_ARGUMENTS_SINCE` that the installed
    Keras does not take."""
    installed = release("keras")
    return {name for name, since in KERAS_CONFIG_ARGUMENTS_SINCE.items() if installed < since}
