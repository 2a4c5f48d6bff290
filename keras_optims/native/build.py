"""Building and caching the fused kernel: the cache folder, the key of a
build (source, flags, compiler, TensorFlow's ABI), the record of the last
build, the build under a lock with a timeout, and loading a built library
through `trust` (see the package's docstring, "Building" and "Environment")."""

import contextlib
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tensorflow as tf

from keras_optims.native import trust

SOURCE = Path(__file__).with_name("course_update.cc")
FLAGS = ["-shared", "-fPIC", "-O3", "-w", "-fno-math-errno", "-ffp-contract=off"]
# -fno-math-errno lets sqrt vectorise (it sets no errno then; results are
# the same); -ffp-contract=off keeps a*b + c two roundings, as TensorFlow's
# own element-wise ops compute it, instead of one fused multiply-add.
DEFAULT_BUILD_TIMEOUT = 300.0
# What the first build's line says it takes (g++ 12, TensorFlow 2.21, x86-64:
# 6 s on an idle core, 25 s on a busy 2-core machine).
BUILD_SECONDS = "5 to 30 s"
# The record of the last build for one identity (`record_identity`): a
# file per identity, so that environments sharing the cache folder (two
# TensorFlow versions, two compilers) each keep theirs.
RECORD_NAME = re.compile(r"course_update-[0-9a-f]{16}\.record")
LIBRARY_NAME = re.compile(r"course_update-[0-9a-f]{16}\.so")

logger = logging.getLogger("keras_optims")


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


def cache_dir():
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
    return Path(os.path.abspath(tempfile.gettempdir())) / f"keras_optims-{trust.current_uid()}"


def compiler():
    """The compiler command, as a list (``CXX`` may hold arguments)."""
    command = shlex.split(os.environ.get("CXX") or "c++")
    if not command:
        raise trust.NativeUnavailable("CXX holds no command")
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
        raise trust.NativeUnavailable(
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
    return cache_dir() / f"course_update-{_digest(cache_key_parts())[:16]}.so"


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


def record_identity():
    """The key of the record of the last build: the cache key with the
    compiler known by its files (`_compiler_identity`), so that nothing runs."""
    return _digest(cache_key_parts(_compiler_identity()))


def record_name(identity=None):
    """The file name of the record of the last build for `identity` (by
    default this environment's, `record_identity`)."""
    return f"course_update-{(identity or record_identity())[:16]}.record"


def recorded_library(folder_fd, folder, uid, identity):
    """The library name the record of the last build gives for `identity`,
    or None (no record, another identity, or a malformed one)."""
    try:
        descriptor = trust.open_file(folder_fd, folder, record_name(identity), uid)
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


def write_record(folder_fd, name, identity):
    """Records `name` as the library for `identity` (best effort: without a
    record, the import only skips registering the op)."""
    record = record_name(identity)
    temporary = f"{record}.{secrets.token_hex(8)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | trust.NOFOLLOW | trust.CLOEXEC, 0o600,
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
                    raise trust.NativeUnavailable(
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


def announce(folder, command):
    """The one line a build prints before it starts, on standard error: the
    first step that needs the kernel waits for it, and a silent wait reads
    as a hang."""
    print(f"keras_optims: building the fused CPU kernel ({SOURCE.name}, for TensorFlow {tf.__version__}, with "
          f"{' '.join(command)}), once per TensorFlow and compiler; about {BUILD_SECONDS}. It is cached in "
          f"{folder}. `python -m keras_optims.native` builds it ahead of time.", file=sys.stderr, flush=True)


def build(folder_fd, folder, name, uid, identity):
    """Compiles the kernel into `name` in the open folder."""
    command = compiler()
    if shutil.which(command[0]) is None:
        raise trust.NativeUnavailable(f"no C++ compiler found (looked for {command[0]!r}; set CXX to choose one)")
    announce(folder, command)
    timeout = build_timeout()
    _clear_stale(folder_fd)
    partial = f"{name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | trust.NOFOLLOW | trust.CLOEXEC, 0o700, dir_fd=folder_fd))
    started = time.perf_counter()
    try:
        # The compiler writes through the folder's descriptor too.
        output = f"{trust.descriptor_path(folder_fd)}/{partial}"
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
            raise trust.NativeUnavailable(
                f"the compiler ({' '.join(command)}) did not finish within {timeout:g} s "
                "(KERAS_OPTIMS_BUILD_TIMEOUT)"
            ) from None
        except BaseException:  # Ctrl-C or any other interruption: no compiler left running
            _kill_group(process)
            raise
        if process.returncode != 0:
            tail = "\n".join(errors.strip().splitlines()[-15:])
            raise trust.NativeUnavailable(f"building {SOURCE.name} failed ({' '.join(command)}):\n{tail}")
        # The linker may have made a new file, with the umask's mode: made
        # private before it is checked.
        built = os.open(partial, os.O_RDONLY | trust.NOFOLLOW | trust.CLOEXEC, dir_fd=folder_fd)
        try:
            os.fchmod(built, 0o700)
            trust.check_private(folder / partial, "file", uid, os.fstat(built))
        finally:
            os.close(built)
        os.replace(partial, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial, dir_fd=folder_fd)
    write_record(folder_fd, name, identity)
    logger.info("keras_optims: built the fused CPU kernel in %.1f s: %s", time.perf_counter() - started, folder / name)


def load_library(folder_fd, folder, name, uid):
    """Loads `name` from the open folder through its own descriptor (checked
    with fstat); FileNotFoundError if it is not there."""
    descriptor = trust.open_file(folder_fd, folder, name, uid)
    try:
        return tf.load_op_library(trust.descriptor_path(descriptor))
    except (tf.errors.OpError, OSError) as error:
        raise trust.NativeUnavailable(f"loading {folder / name} failed: {error}") from None
    finally:
        os.close(descriptor)


def try_load(folder_fd, folder, name, uid):
    """``(module, None)`` when `name` loads, ``(None, None)`` when it is not
    there, ``(None, error)`` when it is there but fails to load (a truncated
    or corrupt file); an untrusted one raises `trust.Untrusted`."""
    try:
        return load_library(folder_fd, folder, name, uid), None
    except FileNotFoundError:
        return None, None
    except trust.Untrusted:
        raise
    except trust.NativeUnavailable as error:
        return None, error


def load_or_build():
    uid = trust.current_uid()
    folder = cache_dir()
    folder_fd = trust.private_folder(folder, uid)
    try:
        identity = record_identity()
        recorded = recorded_library(folder_fd, folder, uid, identity)
        if recorded is not None:
            module, _ = try_load(folder_fd, folder, recorded, uid)  # no lock, no compiler run
            if module is not None:
                return module
        name = library_path().name  # otherwise found (and rebuilt if broken) by the full key
        module, broken = try_load(folder_fd, folder, name, uid)  # built: no lock
        if module is not None:
            write_record(folder_fd, name, identity)  # the next import finds it by the record
            return module
        with _folder_lock(folder_fd, folder):
            if broken is None:
                module, broken = try_load(folder_fd, folder, name, uid)  # built meanwhile
                if module is not None:
                    return module
            if broken is not None:
                # A truncated or corrupt library (an interrupted copy, a full
                # disk): built again, once.
                logger.warning("keras_optims: %s; rebuilding it once", broken)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=folder_fd)
            build(folder_fd, folder, name, uid, identity)
            return load_library(folder_fd, folder, name, uid)
    finally:
        os.close(folder_fd)
