"""The fused CPU kernel: one TensorFlow op that applies a course rule to many
variables at once.

Why it exists (measured on a 2-core CPU, see README "Performance"): XLA:CPU
runs an Adam step as three loops per variable (``v``, ``s``, then ``W``
reading both back, ~40 bytes per parameter instead of 28) and pays ~25–35 µs
per variable per launch, so 200 small variables cost more than Keras's own
ops. `course_update.cc` reads ``W``, ``dW`` and the slots once per element,
for every variable in one op, split over TensorFlow's CPU worker threads.

The kernel is compiled from source on first use with the system C++ compiler
against the installed TensorFlow's headers (`tf.sysconfig`), about 6 s, and
cached. The cache key covers the source, the flags, the compiler and its
version, and what decides TensorFlow's ABI (its version, git version and
build flags), so a different TensorFlow never loads a stale library.

Trust: the library is native code loaded into the user's process, so it is
loaded only from a folder that belongs to the current user and that no one
else can write, and only if the file itself belongs to the user and no one
else can write it; a folder or file that is a symbolic link, belongs to
someone else or is group- or world-writable is refused (`NativeUnavailable`
saying which and how to fix it). The checks are made on what is loaded, not
on a path that could change in between: the folder is opened once
(``O_DIRECTORY | O_NOFOLLOW``), the library through that descriptor
(``openat``, ``O_NOFOLLOW``), both are checked with ``fstat``, and the
library is loaded from its descriptor (``/proc/self/fd/N``), so renaming a
parent folder between the check and the load changes nothing. Folders this
module creates are 0700, the library 0700; nothing is created above a
missing home folder. The same checks guard the load at ``import
keras_optims``, which runs nothing: it finds the library through a record of
the last build (`record_name`, keyed by what can be read without running
the compiler) instead of asking the compiler its version.

Building: concurrent first builds (processes or threads) take a lock on the
cache folder (only to build: a built library is loaded without it; waiting
for it ends after `build_timeout()` seconds), clear temporary files older
than that left by interrupted builds, compile into a unique temporary file
and move it into place; the compiler is given `build_timeout()` seconds, and
its process group is killed if the build is interrupted in any way (a
timeout, Ctrl-C); a cached library that fails to load is rebuilt once. Any
failure is a `NativeUnavailable`, which the optimizers turn into one warning
and the XLA path (``fused=None``) or an error (``fused=True``).

Environment:

- ``KERAS_OPTIMS_CACHE_DIR``: where the built library goes (made absolute;
  default ``$XDG_CACHE_HOME/keras_optims`` or ``~/.cache/keras_optims``, or,
  where that cannot be written or there is no home folder,
  ``keras_optims-<uid>`` in the temp folder, with the same checks);
- ``CXX``: the compiler, a command that may carry arguments
  (``ccache g++``; default ``c++``);
- ``KERAS_OPTIMS_BUILD_TIMEOUT``: seconds the compiler may take (default 300).

`load()` returns the op module or raises `NativeUnavailable` saying why.

A graph that used the kernel (a training step in a SavedModel) needs its op
registered before `tf.saved_model.load`: ``import keras_optims`` does that
when the kernel is already built on the machine; otherwise call `load()`
first.
"""

import os
import threading
import warnings

try:
    import tensorflow as tf
except ModuleNotFoundError as error:  # the kernel is a TensorFlow op
    raise ModuleNotFoundError(
        'keras_optims.native (the fused CPU kernel) needs TensorFlow: pip install "keras-optims[tensorflow]"'
    ) from error

from keras_optims.native import build, trust
# What the tests and the docs name as native.X; the names live in `build`
# (building and caching) and `trust` (what may be loaded).
from keras_optims.native.build import SOURCE, build_timeout, library_path, logger, record_name  # noqa: F401
from keras_optims.native.trust import NativeUnavailable, Untrusted, check_private  # noqa: F401

DTYPES = (tf.float32, tf.float64)

__all__ = ["NativeUnavailable", "Untrusted", "available", "isa", "library_path", "load", "load_if_built"]

_module = None
_failure = None
_lock = threading.Lock()  # one load or build at a time in this process
_warned = False


def warn_unavailable(reason):
    """Warns, once per process, that the fused kernel is not used and why."""
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"keras_optims: the fused CPU kernel is unavailable ({reason}); the course "
            "optimizers run their update with XLA (or TensorFlow ops) instead, which is "
            "slower on CPU. Pass fused=False to choose that explicitly.",
            RuntimeWarning,
            stacklevel=5,
        )


def load():
    """The op module (building the kernel if it is not cached yet), or
    `NativeUnavailable`. The outcome is remembered for the process; any
    failure on the way, whatever it is, is a `NativeUnavailable`."""
    global _module, _failure
    with _lock:
        if _module is not None:
            return _module
        if _failure is not None:
            raise NativeUnavailable(_failure)
        try:
            _module = build.load_or_build()
        except NativeUnavailable as error:
            _failure = str(error)
            raise
        except Exception as error:  # an optional kernel must never stop training
            _failure = f"{type(error).__name__}: {error}"
            raise NativeUnavailable(_failure) from error
    return _module


def load_if_built():
    """Registers the kernel's op if the record of the last build names a
    library for this source, compiler and TensorFlow and it is trusted
    (cheap: nothing is compiled or run, nothing is created), so that a
    SavedModel whose graph contains it loads after ``import keras_optims``;
    never raises (an untrusted library is refused with a warning). Returns
    whether it is registered."""
    global _module
    if _module is not None:
        return True
    try:
        uid = trust.current_uid()
        folder = build.cache_dir()
        if os.path.lexists(folder):
            folder_fd = trust.open_folder(folder, uid)
            try:
                name = build.recorded_library(folder_fd, folder, uid, build.record_identity())
                if name is not None:
                    _module = build.load_library(folder_fd, folder, name, uid)
            finally:
                os.close(folder_fd)
    except Untrusted as error:
        warn_unavailable(error)
    except Exception as error:  # an import must not fail over an optional kernel
        logger.debug("keras_optims: not loading the fused kernel at import: %s", error)
    return _module is not None


def isa():
    """The instruction set the kernel runs with here ("avx512", "avx2",
    "sse2" on x86-64; "neon" on ARM): picked when the library loads, the
    widest the CPU has, or narrower where ``KERAS_OPTIMS_ISA`` asks."""
    return load().keras_optims_course_update_isa().numpy().decode()


def available():
    """Whether the fused kernel can be used in this process."""
    try:
        load()
    except NativeUnavailable:
        return False
    return True


def update(kernel, variables, gradients, slot_buffers, offsets, scalars):
    """Runs one fused op: ``variables`` (tf.Variables of one dtype), their
    ``gradients``, the rule's ``slot_buffers`` (one tf.Variable per slot
    name, holding variable i's slot from element ``offsets[i]``) and its
    float64 ``scalars`` (a 1-D tensor)."""
    gradients = list(gradients)
    if not variables or len(gradients) != len(variables):
        raise _invalid(f"one gradient per variable is needed: {len(variables)} variables, {len(gradients)} gradients")
    dtypes = sorted({tf.as_dtype(g.dtype).name for g in gradients})
    if len(dtypes) > 1:
        raise _invalid(f"the gradients of one call must share a dtype; got {', '.join(dtypes)}")
    load().keras_optims_course_update(
        variables=[v.handle for v in variables],
        slots=[b.handle for b in slot_buffers],
        offsets=tf.constant(offsets, dtype=tf.int64),
        gradients=gradients,
        scalars=scalars,
        rule=kernel,
    )


def _invalid(message):
    return tf.errors.InvalidArgumentError(None, None, message)
