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
saying which and how to fix it). Folders this module creates are 0700, the
library 0700. The same checks guard the load at ``import keras_optims``.

Building: concurrent first builds (processes or threads) take a lock on the
cache folder, compile into a unique temporary file and move it into place;
the compiler is given `build_timeout()` seconds; a cached library that fails
to load is rebuilt once. Any failure is a `NativeUnavailable`, which the
optimizers turn into one warning and the XLA path (``fused=None``) or an
error (``fused=True``).

Environment:

- ``KERAS_OPTIMS_CACHE_DIR``: where the built library goes (default
  ``$XDG_CACHE_HOME/keras_optims`` or ``~/.cache/keras_optims``, or, where
  that cannot be written or there is no home folder,
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

import contextlib
import functools
import hashlib
import logging
import os
import platform
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import tensorflow as tf

SOURCE = Path(__file__).with_name("course_update.cc")
DTYPES = (tf.float32, tf.float64)
FLAGS = ["-shared", "-fPIC", "-O3", "-w", "-fno-math-errno", "-ffp-contract=off"]
# -fno-math-errno lets sqrt vectorise (it sets no errno then; results are
# the same); -ffp-contract=off keeps a*b + c two roundings, as TensorFlow's
# own element-wise ops compute it, instead of one fused multiply-add.
DEFAULT_BUILD_TIMEOUT = 300.0

logger = logging.getLogger("keras_optims")


__all__ = ["NativeUnavailable", "Untrusted", "available", "isa", "library_path", "load", "load_if_built"]

class NativeUnavailable(RuntimeError):
    """The fused kernel cannot be built or loaded here; the message says why."""


class Untrusted(NativeUnavailable):
    """The cache folder or the library in it could have been written by
    someone else: it is not loaded."""


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


def _uid():
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        raise NativeUnavailable("this platform has no user ids (os.getuid), so who owns the cache cannot be checked")
    return getuid()


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
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except (RuntimeError, KeyError):  # no home folder (Path.home() raises)
        base = None
    if base is not None and _writable(base / "keras_optims"):
        return base / "keras_optims"
    # A read-only or missing home (some CI runners and containers): the temp
    # folder, under a name anyone could create first, hence the checks.
    return Path(tempfile.gettempdir()) / f"keras_optims-{_uid()}"


def check_private(path, what, uid=None):
    """Raises `NativeUnavailable` unless `path` (a `what`: "folder" or
    "file") is not a symbolic link, belongs to `uid` (the current user) and
    cannot be written by its group or others."""
    uid = _uid() if uid is None else uid
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif info.st_uid != uid:
        problem = f"belongs to user id {info.st_uid}, not to the current user ({uid})"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"can be written by its group or others (mode {stat.S_IMODE(info.st_mode):o})"
    else:
        return
    if what == "folder":
        fix = (f"make it a folder of your own that only you can write (chmod 700 {path}), "
               "or set KERAS_OPTIMS_CACHE_DIR to one")
    else:
        fix = f"delete it (it is rebuilt) and check who else can write to {path.parent}"
    raise Untrusted(f"refusing to load native code: the cache {what} {path} {problem}; {fix}")


def _private_folder(folder, uid):
    """Creates `folder` and any missing parent (0700) if it does not exist,
    then checks it."""
    missing, ancestor = [], folder
    while not os.path.lexists(ancestor):
        missing.append(ancestor)
        ancestor = ancestor.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, 0o700)
        except FileExistsError:
            pass  # created meanwhile, by us or by someone else: checked below
    check_private(folder, "folder", uid)


def compiler():
    """The compiler command, as a list (``CXX`` may hold arguments)."""
    command = shlex.split(os.environ.get("CXX") or "c++")
    if not command:
        raise NativeUnavailable("CXX holds no command")
    return command


@functools.lru_cache(maxsize=8)
def _compiler_version(command):
    """What ``<compiler> --version`` prints (part of the cache key)."""
    try:
        result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"unknown ({type(error).__name__})"
    return result.stdout + result.stderr


def build_timeout():
    """Seconds the compiler may take (``KERAS_OPTIMS_BUILD_TIMEOUT``)."""
    text = os.environ.get("KERAS_OPTIMS_BUILD_TIMEOUT")
    if not text:
        return DEFAULT_BUILD_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise NativeUnavailable(
            f"KERAS_OPTIMS_BUILD_TIMEOUT must be a positive number of seconds. Received: {text!r}"
        )
    return value


def _build_command(command, output):
    return [
        *command,
        *FLAGS,
        str(SOURCE),
        "-o",
        str(output),
        *tf.sysconfig.get_compile_flags(),
        *tf.sysconfig.get_link_flags(),
    ]


def cache_key_parts():
    """What the cached library's name depends on: anything that changes the
    machine code or TensorFlow's ABI."""
    command = tuple(compiler())
    build_info = sorted((str(k), str(v)) for k, v in tf.sysconfig.get_build_info().items())
    return [
        SOURCE.read_bytes(),
        tf.__version__,
        tf.version.GIT_VERSION,
        tf.version.COMPILER_VERSION,
        repr(build_info),
        " ".join(_build_command(command, "")),
        _compiler_version(command),
        platform.machine(),
        sys.platform,
    ]


def library_path():
    """Where the kernel for this source, compiler, TensorFlow and platform is
    (or will be) cached."""
    key = hashlib.sha256()
    for part in cache_key_parts():
        key.update(part if isinstance(part, bytes) else part.encode())
        key.update(b"\0")
    return _cache_dir() / f"course_update-{key.hexdigest()[:16]}.so"


@contextlib.contextmanager
def _folder_lock(folder):
    """Holds an exclusive lock on `folder` (across processes) while a build
    runs; nothing is created for it."""
    try:
        import fcntl
    except ImportError:  # no flock here: the unique temporary file still keeps builds apart
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _build(path):
    command = compiler()
    if shutil.which(command[0]) is None:
        raise NativeUnavailable(f"no C++ compiler found (looked for {command[0]!r}; set CXX to choose one)")
    timeout = build_timeout()
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    os.close(descriptor)
    partial = Path(partial)
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            _build_command(command, partial),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so that a timeout stops the compiler's children too
        )
        try:
            _, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise NativeUnavailable(
                f"the compiler ({' '.join(command)}) did not finish within {timeout:g} s "
                "(KERAS_OPTIMS_BUILD_TIMEOUT)"
            ) from None
        if process.returncode != 0:
            tail = "\n".join(errors.strip().splitlines()[-15:])
            raise NativeUnavailable(f"building {SOURCE.name} failed ({' '.join(command)}):\n{tail}")
        os.chmod(partial, 0o700)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("keras_optims: built the fused CPU kernel in %.1f s: %s", time.perf_counter() - started, path)


def _load_library(path, uid):
    check_private(path, "file", uid)
    try:
        return tf.load_op_library(str(path))
    except (tf.errors.OpError, OSError) as error:
        raise NativeUnavailable(f"loading {path} failed: {error}") from None


def _load_or_build():
    uid = _uid()
    path = library_path()
    _private_folder(path.parent, uid)
    with _folder_lock(path.parent):
        if not os.path.lexists(path):
            _build(path)
        try:
            return _load_library(path, uid)
        except Untrusted:
            raise
        except NativeUnavailable as error:
            # A truncated or corrupt library (an interrupted copy, a full
            # disk): built again, once.
            logger.warning("keras_optims: %s; rebuilding it once", error)
            path.unlink()
            _build(path)
            return _load_library(path, uid)


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
            _module = _load_or_build()
        except NativeUnavailable as error:
            _failure = str(error)
            raise
        except Exception as error:  # an optional kernel must never stop training
            _failure = f"{type(error).__name__}: {error}"
            raise NativeUnavailable(_failure) from error
    return _module


def load_if_built():
    """Registers the kernel's op if its library is already built and
    trusted (cheap), so that a SavedModel whose graph contains it loads after
    ``import keras_optims``; never builds and never raises (an untrusted
    library is refused with a warning). Returns whether it is registered."""
    global _module
    if _module is not None:
        return True
    try:
        uid = _uid()
        path = library_path()
        if os.path.lexists(path):
            check_private(path.parent, "folder", uid)
            _module = _load_library(path, uid)
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
