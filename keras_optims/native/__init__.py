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

import contextlib
import errno
import functools
import hashlib
import json
import logging
import os
import platform
import re
import secrets
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
# The record of the last build for one identity (`_record_identity`): a
# file per identity, so that environments sharing the cache folder (two
# TensorFlow versions, two compilers) each keep theirs.
RECORD_NAME = re.compile(r"course_update-[0-9a-f]{16}\.record")
LIBRARY_NAME = re.compile(r"course_update-[0-9a-f]{16}\.so")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

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


def _home_cache():
    """``$XDG_CACHE_HOME`` or ``~/.cache`` where the folder above it exists
    (so that nothing is created above a missing home folder), else None."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        base = Path(xdg) if xdg else Path.home() / ".cache"
    except (RuntimeError, KeyError):  # no home folder (Path.home() raises)
        return None
    if not base.is_absolute() or not base.parent.is_dir():  # HOME unset, empty, relative or missing
        return None
    return base


def _cache_dir():
    """The cache folder, an absolute path (a relative one would make the
    loader search LD_LIBRARY_PATH for a name without a slash)."""
    explicit = os.environ.get("KERAS_OPTIMS_CACHE_DIR")
    if explicit:
        return Path(os.path.abspath(explicit))
    base = _home_cache()
    if base is not None and _writable(base / "keras_optims"):
        return base / "keras_optims"
    # A read-only or missing home (some CI runners and containers): the temp
    # folder, under a name anyone could create first, hence the checks.
    return Path(os.path.abspath(tempfile.gettempdir())) / f"keras_optims-{_uid()}"


def check_private(path, what, uid=None, info=None):
    """Raises `NativeUnavailable` unless `path` (a `what`: "folder" or
    "file") is not a symbolic link, belongs to `uid` (the current user) and
    cannot be written by its group or others. `info`: the `os.stat_result`
    to judge (from ``fstat`` on an open descriptor), default ``lstat(path)``."""
    uid = _uid() if uid is None else uid
    info = os.lstat(path) if info is None else info
    kind = stat.S_ISDIR if what == "folder" else stat.S_ISREG
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif not kind(info.st_mode):
        problem = f"is not a {'folder' if what == 'folder' else 'regular file'}"
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
    then opens it (`_open_folder`): a checked descriptor."""
    missing, ancestor = [], folder
    while not os.path.lexists(ancestor):
        missing.append(ancestor)
        ancestor = ancestor.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, 0o700)
        except FileExistsError:
            pass  # created meanwhile, by us or by someone else: checked below
    return _open_folder(folder, uid)


def _open_folder(folder, uid):
    """A descriptor of `folder` (``O_DIRECTORY | O_NOFOLLOW``), checked with
    ``fstat``: everything after this goes through it, whatever happens to
    the path."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):  # a link, or not a folder: check_private says which
            check_private(folder, "folder", uid)
        raise NativeUnavailable(f"cannot open the cache folder {folder}: {error.strerror}") from None
    try:
        check_private(folder, "folder", uid, os.fstat(descriptor))
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _open_file(folder_fd, folder, name, uid, flags=os.O_RDONLY):
    """A descriptor of `name` in the open folder (``openat`` with
    ``O_NOFOLLOW``), checked with ``fstat``; FileNotFoundError if absent."""
    try:
        descriptor = os.open(name, flags | _NOFOLLOW | _CLOEXEC, dir_fd=folder_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            check_private(folder / name, "file", uid, os.stat(name, dir_fd=folder_fd, follow_symlinks=False))
        raise
    try:
        check_private(folder / name, "file", uid, os.fstat(descriptor))
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _descriptor_path(descriptor):
    """A path that opens what `descriptor` refers to, whatever has happened
    to its name since it was opened, in this process and its children."""
    for path in (f"/proc/{os.getpid()}/fd/{descriptor}", f"/dev/fd/{descriptor}"):
        if os.path.exists(path):
            return path
    raise NativeUnavailable("this platform cannot open a file by its descriptor (no /proc/<pid>/fd or /dev/fd)")


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


def cache_key_parts(compiler_identity=None):
    """What the cached library's name depends on: anything that changes the
    machine code or TensorFlow's ABI. The compiler is known by what
    ``--version`` prints, or, for the record of the last build (which must
    run nothing), by `compiler_identity`."""
    command = tuple(compiler())
    build_info = sorted((str(k), str(v)) for k, v in tf.sysconfig.get_build_info().items())
    return [
        SOURCE.read_bytes(),
        tf.__version__,
        tf.version.GIT_VERSION,
        tf.version.COMPILER_VERSION,
        repr(build_info),
        " ".join(_build_command(command, "")),
        compiler_identity if compiler_identity is not None else _compiler_version(command),
        platform.machine(),
        sys.platform,
    ]


def _digest(parts):
    key = hashlib.sha256()
    for part in parts:
        key.update(part if isinstance(part, bytes) else part.encode())
        key.update(b"\0")
    return key.hexdigest()


def library_path():
    """Where the kernel for this source, compiler, TensorFlow and platform is
    (or will be) cached."""
    return _cache_dir() / f"course_update-{_digest(cache_key_parts())[:16]}.so"


def _compiler_identity():
    """The compiler's files as found on PATH (real path, size, modification
    time) for every word of the command that names one: a change of
    compiler shows without running it."""
    found = []
    for word in compiler():
        located = shutil.which(word)
        if located:
            real = os.path.realpath(located)
            info = os.stat(real)
            found.append(f"{real}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(found) or "no compiler"


def _record_identity():
    """The key of the record of the last build: the cache key with the
    compiler known by its files (`_compiler_identity`), so that nothing runs."""
    return _digest(cache_key_parts(_compiler_identity()))


def record_name(identity=None):
    """The file name of the record of the last build for `identity` (by
    default this environment's, `_record_identity`)."""
    return f"course_update-{(identity or _record_identity())[:16]}.record"


def _recorded_library(folder_fd, folder, uid, identity):
    """The library name the record of the last build gives for `identity`,
    or None (no record, another identity, or a malformed one)."""
    try:
        descriptor = _open_file(folder_fd, folder, record_name(identity), uid)
    except FileNotFoundError:
        return None
    with os.fdopen(descriptor, "rb") as record:
        text = record.read(4096)
    try:
        entry = json.loads(text)
        recorded, name = entry["identity"], entry["library"]
    except (ValueError, KeyError, TypeError):
        return None
    if recorded == identity and isinstance(name, str) and LIBRARY_NAME.fullmatch(name):
        return name
    return None


def _write_record(folder_fd, name, identity):
    """Records `name` as the library for `identity` (best effort: without a
    record, the import only skips registering the op)."""
    record = record_name(identity)
    temporary = f"{record}.{secrets.token_hex(8)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600,
                             dir_fd=folder_fd)
        with os.fdopen(descriptor, "w") as out:
            json.dump({"identity": identity, "library": name}, out)
        os.replace(temporary, record, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except OSError as error:
        logger.debug("keras_optims: could not record the last build: %s", error)
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder_fd)


@contextlib.contextmanager
def _folder_lock(folder_fd, folder):
    """Holds an exclusive lock on the open folder (across processes) while a
    build runs; nothing is created for it. Waiting ends after
    `build_timeout()` seconds: someone else holding it (the folder may be
    readable by others) cannot stop training."""
    try:
        import fcntl
    except ImportError:  # no flock here: the unique temporary file still keeps builds apart
        yield
        return
    deadline = time.monotonic() + build_timeout()
    descriptor = os.dup(folder_fd)  # a lock of its own, released on close
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise NativeUnavailable(
                        f"another process has held the build lock on {folder} for more than "
                        f"{build_timeout():g} s (KERAS_OPTIMS_BUILD_TIMEOUT)"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)


def _clear_stale(folder_fd):
    """Removes temporary files that interrupted builds left (older than the
    build timeout: no build still writes them)."""
    oldest = time.time() - build_timeout()
    for name in os.listdir(folder_fd):
        if name.endswith(".tmp") and name.startswith("course_update-"):
            with contextlib.suppress(OSError):
                if os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mtime < oldest:
                    os.unlink(name, dir_fd=folder_fd)


def _kill_group(process):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _build(folder_fd, folder, name, uid, identity):
    """Compiles the kernel into `name` in the open folder."""
    command = compiler()
    if shutil.which(command[0]) is None:
        raise NativeUnavailable(f"no C++ compiler found (looked for {command[0]!r}; set CXX to choose one)")
    timeout = build_timeout()
    _clear_stale(folder_fd)
    partial = f"{name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o700, dir_fd=folder_fd))
    started = time.perf_counter()
    try:
        # The compiler writes through the folder's descriptor too.
        output = f"{_descriptor_path(folder_fd)}/{partial}"
        process = subprocess.Popen(
            _build_command(command, output),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so that the compiler's children can be stopped with it
        )
        try:
            _, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise NativeUnavailable(
                f"the compiler ({' '.join(command)}) did not finish within {timeout:g} s "
                "(KERAS_OPTIMS_BUILD_TIMEOUT)"
            ) from None
        except BaseException:  # Ctrl-C or any other interruption: no compiler left running
            _kill_group(process)
            raise
        if process.returncode != 0:
            tail = "\n".join(errors.strip().splitlines()[-15:])
            raise NativeUnavailable(f"building {SOURCE.name} failed ({' '.join(command)}):\n{tail}")
        # The linker may have made a new file, with the umask's mode: made
        # private before it is checked.
        built = os.open(partial, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=folder_fd)
        try:
            os.fchmod(built, 0o700)
            check_private(folder / partial, "file", uid, os.fstat(built))
        finally:
            os.close(built)
        os.replace(partial, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial, dir_fd=folder_fd)
    _write_record(folder_fd, name, identity)
    logger.info("keras_optims: built the fused CPU kernel in %.1f s: %s", time.perf_counter() - started, folder / name)


def _load_library(folder_fd, folder, name, uid):
    """Loads `name` from the open folder through its own descriptor (checked
    with fstat); FileNotFoundError if it is not there."""
    descriptor = _open_file(folder_fd, folder, name, uid)
    try:
        return tf.load_op_library(_descriptor_path(descriptor))
    except (tf.errors.OpError, OSError) as error:
        raise NativeUnavailable(f"loading {folder / name} failed: {error}") from None
    finally:
        os.close(descriptor)


def _try_load(folder_fd, folder, name, uid):
    """``(module, None)`` when `name` loads, ``(None, None)`` when it is not
    there, ``(None, error)`` when it is there but fails to load (a truncated
    or corrupt file); an untrusted one raises `Untrusted`."""
    try:
        return _load_library(folder_fd, folder, name, uid), None
    except FileNotFoundError:
        return None, None
    except Untrusted:
        raise
    except NativeUnavailable as error:
        return None, error


def _load_or_build():
    uid = _uid()
    folder = _cache_dir()
    folder_fd = _private_folder(folder, uid)
    try:
        identity = _record_identity()
        recorded = _recorded_library(folder_fd, folder, uid, identity)
        if recorded is not None:
            module, _ = _try_load(folder_fd, folder, recorded, uid)  # no lock, no compiler run
            if module is not None:
                return module
        name = library_path().name  # otherwise found (and rebuilt if broken) by the full key
        module, broken = _try_load(folder_fd, folder, name, uid)  # built: no lock
        if module is not None:
            _write_record(folder_fd, name, identity)  # the next import finds it by the record
            return module
        with _folder_lock(folder_fd, folder):
            if broken is None:
                module, broken = _try_load(folder_fd, folder, name, uid)  # built meanwhile
                if module is not None:
                    return module
            if broken is not None:
                # A truncated or corrupt library (an interrupted copy, a full
                # disk): built again, once.
                logger.warning("keras_optims: %s; rebuilding it once", broken)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=folder_fd)
            _build(folder_fd, folder, name, uid, identity)
            return _load_library(folder_fd, folder, name, uid)
    finally:
        os.close(folder_fd)


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
        uid = _uid()
        folder = _cache_dir()
        if os.path.lexists(folder):
            folder_fd = _open_folder(folder, uid)
            try:
                name = _recorded_library(folder_fd, folder, uid, _record_identity())
                if name is not None:
                    _module = _load_library(folder_fd, folder, name, uid)
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
