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
cached; the cache key covers the source, the TensorFlow version and the
flags, so a TensorFlow upgrade rebuilds it. Environment:

- ``KERAS_OPTIMS_CACHE_DIR``: where the built library goes (default
  ``$XDG_CACHE_HOME/keras_optims`` or ``~/.cache/keras_optims``, or, where
  that cannot be written, ``keras_optims-<uid>`` in the temp folder);
- ``CXX``: the compiler (default ``c++``).

`load()` returns the op module or raises `NativeUnavailable` saying why (no
compiler, a failed build, a TensorFlow without headers).

A graph that used the kernel (a training step in a SavedModel) needs its op
registered before `tf.saved_model.load`: ``import keras_optims`` does that
when the kernel is already built on the machine; otherwise call `load()`
first.
"""

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tensorflow as tf

SOURCE = Path(__file__).with_name("course_update.cc")
DTYPES = (tf.float32, tf.float64)
FLAGS = ["-shared", "-fPIC", "-O3", "-w", "-fno-math-errno", "-ffp-contract=off"]
# -fno-math-errno lets sqrt vectorise (it sets no errno then; results are
# the same); -ffp-contract=off keeps a*b + c two roundings, as TensorFlow's
# own element-wise ops compute it, instead of one fused multiply-add.

logger = logging.getLogger("keras_optims")


class NativeUnavailable(RuntimeError):
    """The fused kernel cannot be built or loaded here; the message says why."""


_module = None
_failure = None


def _writable(path):
    """Whether `path` can be created or written, judged from its nearest
    existing ancestor (nothing is created here)."""
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return os.access(path, os.W_OK)


def _cache_dir():
    explicit = os.environ.get("KERAS_OPTIMS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    default = Path(base) / "keras_optims"
    if _writable(default):
        return default
    # A read-only home (some CI runners and containers): the temp folder.
    return Path(tempfile.gettempdir()) / f"keras_optims-{os.getuid()}"


def _build_command(compiler, output):
    return [
        compiler,
        *FLAGS,
        str(SOURCE),
        "-o",
        str(output),
        *tf.sysconfig.get_compile_flags(),
        *tf.sysconfig.get_link_flags(),
    ]


def library_path():
    """Where the kernel for this source, compiler, TensorFlow and platform is
    (or will be) cached."""
    compiler = os.environ.get("CXX", "c++")
    key = hashlib.sha256()
    for part in (
        SOURCE.read_bytes(),
        tf.__version__.encode(),
        compiler.encode(),
        " ".join(_build_command(compiler, "")).encode(),
        platform.machine().encode(),
        sys.platform.encode(),
    ):
        key.update(part)
        key.update(b"\0")
    return _cache_dir() / f"course_update-{key.hexdigest()[:16]}.so"


def _build(path):
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        raise NativeUnavailable(f"no C++ compiler found (looked for {compiler!r}; set CXX to choose one)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NativeUnavailable(f"cannot create the kernel cache folder {path.parent}: {error}") from None
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    started = time.perf_counter()
    result = subprocess.run(_build_command(compiler, partial), capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise NativeUnavailable(f"building {SOURCE.name} failed ({compiler}):\n{tail}")
    os.replace(partial, path)  # atomic: a concurrent build writes the same bytes
    logger.info("keras_optims: built the fused CPU kernel in %.1f s: %s", time.perf_counter() - started, path)


def load():
    """The op module (building the kernel if it is not cached yet), or
    `NativeUnavailable`. The outcome is remembered for the process."""
    global _module, _failure
    if _module is not None:
        return _module
    if _failure is not None:
        raise NativeUnavailable(_failure)
    try:
        path = library_path()
        if not path.exists():
            _build(path)
        try:
            _module = tf.load_op_library(str(path))
        except (tf.errors.NotFoundError, OSError) as error:
            raise NativeUnavailable(f"loading {path} failed: {error}") from None
    except NativeUnavailable as error:
        _failure = str(error)
        raise
    return _module


def load_if_built():
    """Registers the kernel's op if its library is already built (cheap), so
    that a SavedModel whose graph contains it loads after ``import
    keras_optims``; never builds and never raises. Returns whether it is
    registered."""
    global _module
    if _module is not None:
        return True
    try:
        path = library_path()
        if path.exists():
            _module = tf.load_op_library(str(path))
    except Exception as error:  # an import must not fail over an optional kernel
        logger.debug("keras_optims: not loading the fused kernel at import: %s", error)
    return _module is not None


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
    load().keras_optims_course_update(
        variables=[v.handle for v in variables],
        slots=[b.handle for b in slot_buffers],
        offsets=tf.constant(offsets, dtype=tf.int64, shape=[len(variables)]),
        gradients=list(gradients),
        scalars=scalars,
        rule=kernel,
    )
