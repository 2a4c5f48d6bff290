"""The fused kernel as native code loaded into a user's process: nothing that
someone else could have written is loaded, bad input to the op never touches
memory, and a failed or broken build never stops training (issue 13)."""

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_optims import native

PYTHON_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "always"}


def run_python(code, check=True, timeout=300, **env):
    """Runs `code` in a fresh Python (a fresh kernel state); its stdout."""
    environment = {**os.environ, **PYTHON_ENV}
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=environment, timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def seen_in(cache, what, **env):
    """`what()` as a process with KERAS_OPTIMS_CACHE_DIR=cache (and `env`)
    would compute it: computed here, in that environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_OPTIMS_CACHE_DIR", str(cache))
        for name, value in env.items():
            patch.setenv(name, value)
        return what()


def path_in(cache, **env):
    """`native.library_path()` as a process with KERAS_OPTIMS_CACHE_DIR=cache sees it."""
    return seen_in(cache, native.library_path, **env)


def record_in(cache, **env):
    """`native.record_name()` as a process with KERAS_OPTIMS_CACHE_DIR=cache sees it."""
    return seen_in(cache, native.record_name, **env)


# A compiler that compiles nothing: a build copies the kernel that was built
# once for this test session, with the real compiler, to the path after -o.
# The tests below check the loader's logic (locks, temporary files, records,
# rebuilds), not the compiler: test_native.py builds for real.
STUB_COMPILER = """#!/bin/sh
case " $* " in *" --version "*) echo "stub c++ 1.0"; exit 0 ;; esac
out=; take=
for word in "$@"; do
  if [ -n "$take" ]; then out=$word; take=; fi
  [ "$word" = -o ] && take=1
done
exec cp "{library}" "$out"
"""


@pytest.fixture(scope="session")
def stub_compiler(tmp_path_factory):
    """The path of a script standing in for the compiler (`STUB_COMPILER`)."""
    native.load()  # built with the real compiler, once, in the default cache
    script = tmp_path_factory.mktemp("stub-compiler") / "cxx.sh"
    script.write_text(STUB_COMPILER.format(library=native.library_path()))
    return script


# ---------------------------------------------------------------------------
# Trust: nothing someone else could have written is loaded.

PLANTED = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void planted(void) {
  const char* marker = getenv("PLANTED_MARKER");
  if (marker) { FILE* f = fopen(marker, "w"); if (f) { fputs("ran", f); fclose(f); } }
}
"""

TRY_THE_KERNEL = """
    import warnings
    import numpy as np, keras, tensorflow as tf
    import keras_optims
    from keras_optims import native
    try:
        keras_optims.Adam(fused=True)
        print("FUSED TRUE: accepted")
    except native.NativeUnavailable as error:
        print("FUSED TRUE:", error)
    optimizer = keras_optims.Adam()  # 4,096 elements: a model the default updates with the kernel
    optimizer.apply([tf.ones(4096)], [keras.Variable(np.ones(4096, "float32"))])
    print("PATHS:", dict(optimizer._updater.updates_by_path))
"""


def plant(library):
    """A shared library at `library` that, when loaded, writes $PLANTED_MARKER."""
    source = library.parent / "planted.c"
    library.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(PLANTED)
    subprocess.run(["cc", "-shared", "-fPIC", str(source), "-o", str(library)], check=True)
    source.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["folder writable by others", "folder is a symbolic link", "file writable by its group"])
def test_a_library_someone_else_could_have_written_is_not_loaded(tmp_path, how):
    """Before: `import keras_optims` loaded the planted library (its code ran)."""
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    cache = real
    if how == "folder is a symbolic link":
        cache = tmp_path / "link"
        cache.symlink_to(real)
    library = path_in(cache)
    plant(real / library.name)
    os.chmod(real / library.name, 0o700)
    if how == "folder writable by others":
        os.chmod(real, 0o777)
    if how == "file writable by its group":
        os.chmod(real / library.name, 0o770)
    marker = tmp_path / "marker"
    out = run_python(TRY_THE_KERNEL, KERAS_OPTIMS_CACHE_DIR=str(cache), PLANTED_MARKER=str(marker))
    assert not marker.exists(), "the planted library was loaded"
    expected = {
        "folder writable by others": "can be written by its group or others (mode 777)",
        "folder is a symbolic link": "is a symbolic link",
        "file writable by its group": "can be written by its group or others (mode 770)",
    }[how]
    assert out.count("refusing to load native code") >= 1 and expected in out
    warnings = [line for line in out.splitlines() if "RuntimeWarning" in line]
    assert len(warnings) == 1, out
    assert ("chmod 700" if "folder" in how else "delete it") in out
    assert "FUSED TRUE: fused=True needs the fused CPU kernel" in out
    assert "PATHS: {'xla': 1}" in out


def test_a_folder_or_file_of_another_user_is_refused(monkeypatch):
    """Who owns what, checked against the current user (here made someone
    else, so that every existing folder belongs to another user)."""
    native.load()  # built (on a fresh cache, by this test)
    path = native.library_path()
    assert path.exists()
    monkeypatch.setattr(native.trust, "current_uid", lambda: os.getuid() + 1)
    with pytest.raises(native.Untrusted, match=f"cache folder {path.parent} belongs to user id {os.getuid()}, not"):
        native.build.load_or_build()
    with pytest.raises(native.Untrusted, match="cache file .* belongs to user id"):
        native.check_private(path, "file")


def test_folders_are_created_private_and_the_temp_fallback_is_checked(tmp_path, monkeypatch):
    """Before: folders were created with the umask's mode (0755) and the
    predictable temp folder was used whoever had created it."""
    monkeypatch.setenv("CXX", "no-such-compiler-here")
    monkeypatch.setenv("KERAS_OPTIMS_CACHE_DIR", str(tmp_path / "a" / "b" / "cache"))
    with pytest.raises(native.NativeUnavailable, match="no C.. compiler found"):
        native.build.load_or_build()
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "cache"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder

    monkeypatch.delenv("KERAS_OPTIMS_CACHE_DIR")
    monkeypatch.setattr(native.build, "_writable", lambda path: False)  # no usable home: the temp folder
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fallback = tmp_path / f"keras_optims-{os.getuid()}"
    assert native.library_path().parent == fallback
    fallback.mkdir(mode=0o777)
    os.chmod(fallback, 0o777)  # as if someone else had made it first, for everyone
    with pytest.raises(native.Untrusted, match=f"cache folder {fallback} can be written by its group or others"):
        native.build.load_or_build()
    fallback.rmdir()
    with pytest.raises(native.NativeUnavailable, match="no C.. compiler found"):
        native.build.load_or_build()
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o700


# ---------------------------------------------------------------------------
# Trust holds for what is loaded, not for a path checked earlier.

def built_library_in(cache):
    """`cache` (made, 0700) holding a copy of the kernel built for this
    machine under its cached name; the library's path."""
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    source = native.library_path()
    if not source.exists():
        native.load()
    target = cache / path_in(cache).name
    shutil.copyfile(source, target)
    os.chmod(target, 0o700)
    return target


RACE = """
    import os, tensorflow as tf
    real_load = tf.load_op_library

    def racing_load(path):
        # Between the checks and the load, someone who can rename entries of
        # the shared folder moves the victim's folder away and puts theirs,
        # holding an impostor under the same name, in its place.
        os.rename({shared!r}, {shared!r} + ".away")
        os.rename({impostor!r}, {shared!r})
        return real_load(path)

    tf.load_op_library = racing_load  # before the import, which may load the kernel
    from keras_optims import native
    native.load()
    print("LOADED", native.isa())
"""


@pytest.mark.slow
def test_a_folder_swapped_between_check_and_load_changes_nothing(tmp_path):
    """Before: trust was checked by path and the library loaded by path
    again, so the impostor's constructor ran in this process."""
    shared, impostor = tmp_path / "shared", tmp_path / "impostor"
    genuine = built_library_in(shared / "cache")
    plant(impostor / "cache" / genuine.name)
    marker = tmp_path / "marker"
    out = run_python(RACE.format(shared=str(shared), impostor=str(impostor)),
                     KERAS_OPTIMS_CACHE_DIR=str(shared / "cache"), PLANTED_MARKER=str(marker))
    assert not marker.exists(), "the impostor was loaded"
    assert "LOADED" in out, out


@pytest.mark.slow
def test_a_relative_cache_folder_never_searches_the_library_path(tmp_path):
    """KERAS_OPTIMS_CACHE_DIR=. Before: the library's path had no slash, so
    the dynamic loader looked for it in LD_LIBRARY_PATH first, where a
    same-named library that someone else wrote was loaded."""
    work = tmp_path / "work"
    genuine = built_library_in(work)
    elsewhere = tmp_path / "elsewhere"
    plant(elsewhere / genuine.name)
    marker = tmp_path / "marker"
    result = subprocess.run(
        [sys.executable, "-c", "from keras_optims import native; native.load(); print('LOADED', native.isa()); "
         "print('PATH', native.library_path())"],
        capture_output=True, text=True, timeout=300, cwd=work,
        env={**os.environ, **PYTHON_ENV, "KERAS_OPTIMS_CACHE_DIR": ".", "LD_LIBRARY_PATH": str(elsewhere),
             "PLANTED_MARKER": str(marker)},
    )
    assert not marker.exists(), "a library from LD_LIBRARY_PATH was loaded"
    assert result.returncode == 0 and "LOADED" in result.stdout, result.stderr[-2000:]
    assert f"PATH {genuine}\n" in result.stdout  # made absolute, as documented


HOLD_THE_LOCK_AND_LOAD = """
    from keras_optims import native
    native._module = None  # as if the import had not registered it
    try:
        native.load()
        print("LOADED")
    except native.NativeUnavailable as error:
        print("FAILED", error)
"""


@pytest.mark.slow
@pytest.mark.parametrize("built", [True, False], ids=["built", "not built"])
def test_someone_holding_the_build_lock_cannot_stop_training(tmp_path, built):
    """Another user holds the lock on a cache folder they can read. Before:
    the lock was taken even when the library was built, with no deadline:
    the load waited for ever (here: the 60 s limit, which fails the test).
    Built, the load takes no lock (with it, it would fail at the deadline);
    not built, it gives up at the deadline and says so."""
    import fcntl

    cache = tmp_path / "cache"
    if built:
        built_library_in(cache)
    else:
        cache.mkdir(mode=0o700)
    holder = os.open(cache, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        out = run_python(HOLD_THE_LOCK_AND_LOAD, timeout=60, KERAS_OPTIMS_CACHE_DIR=str(cache),
                         KERAS_OPTIMS_BUILD_TIMEOUT="2")
    finally:
        os.close(holder)
    if built:
        assert "LOADED" in out, out
    else:
        assert f"FAILED another process has held the build lock on {cache} for more than 2 s" in out
        assert list(cache.iterdir()) == []


HANGING_COMPILER = """#!/bin/sh
case " $* " in *" -shared "*) echo $$ > "{pid}"; exec sleep 120 ;; esac
exec c++ "$@"
"""


@pytest.mark.slow
def test_an_interrupted_build_leaves_no_compiler_running(tmp_path):
    """Ctrl-C during the first build. Before: the compiler, in its own
    process group, kept running (writing a file already deleted)."""
    script, pid_file, cache = tmp_path / "cxx.sh", tmp_path / "compiler.pid", tmp_path / "cache"
    script.write_text(HANGING_COMPILER.format(pid=pid_file))
    # Ctrl-C raises KeyboardInterrupt, as at a terminal, even where this test
    # runs as a background job (whose shell made its children ignore SIGINT).
    interruptible = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    process = subprocess.Popen(
        [sys.executable, "-c", interruptible + "from keras_optims import native; native.load()"],
        env={**os.environ, **PYTHON_ENV, "KERAS_OPTIMS_CACHE_DIR": str(cache), "CXX": f"sh {script}"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    compiler = int(pid_file.read_text())
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert "KeyboardInterrupt" in err
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # killed, and reaped: no process with its id
        os.kill(compiler, 0)
    assert list(cache.iterdir()) == []


@pytest.mark.slow
def test_stale_temporary_files_are_cleared_by_the_next_build(tmp_path, stub_compiler):
    """Files that builds killed outright (SIGKILL, power loss) left. Before:
    they stayed for ever."""
    cache, cxx = tmp_path / "cache", f"sh {stub_compiler}"
    cache.mkdir(mode=0o700)
    name = path_in(cache, CXX=cxx).name
    stale, recent = cache / f"{name}.0123456789abcdef.tmp", cache / f"{name}.fedcba9876543210.tmp"
    for leftover in (stale, recent):
        leftover.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    run_python("from keras_optims import native; native.load()", KERAS_OPTIMS_CACHE_DIR=str(cache), CXX=cxx)
    assert not stale.exists() and recent.exists()  # a recent one may be a build still running
    assert (cache / name).exists()


COUNTING_EVERY_CALL = """#!/bin/sh
echo "$*" >> "{log}"
exec sh "{stub}" "$@"
"""

IMPORT_ONLY = """
    import keras_optims
    from keras_optims import native
    print("REGISTERED", native._module is not None)
"""


@pytest.mark.slow
def test_import_runs_no_compiler_when_the_kernel_is_built(tmp_path, stub_compiler):
    """Before: `import keras_optims` ran `$CXX --version` (for the cache
    key) in every process, whether or not anything fused was used."""
    cache, log, script = tmp_path / "cache", tmp_path / "calls.log", tmp_path / "cxx.sh"
    script.write_text(COUNTING_EVERY_CALL.format(log=log, stub=stub_compiler))
    os.chmod(script, 0o755)  # found by shutil.which: part of the record's key
    env = {"KERAS_OPTIMS_CACHE_DIR": str(cache), "CXX": f"sh {script}"}
    run_python("from keras_optims import native; native.load()", **env)
    assert any("-shared" in line for line in log.read_text().splitlines())
    calls = log.read_text()
    out = run_python(IMPORT_ONLY, **env)
    assert "REGISTERED True" in out
    assert log.read_text() == calls, "the import ran the compiler"
    # A changed compiler file is a changed record key: not registered at import.
    script.write_text(COUNTING_EVERY_CALL.format(log=log, stub=stub_compiler) + "# another version\n")
    assert "REGISTERED False" in run_python(IMPORT_ONLY, **env)
    assert log.read_text() == calls


@pytest.mark.slow
def test_no_folder_is_created_above_a_missing_home(tmp_path):
    """HOME names a folder that does not exist (as root, any path can be
    made). Before: the loader created it, with .cache/keras_optims in it."""
    home, temp = tmp_path / "no-such-home", tmp_path / "tmp"
    temp.mkdir()
    # Keras and matplotlib make folders in the home folder of their own
    # accord: elsewhere here.
    out = run_python(TRY_THE_KERNEL, KERAS_OPTIMS_CACHE_DIR=None, XDG_CACHE_HOME=None, HOME=str(home),
                     TMPDIR=str(temp), CXX="no-such-compiler-here", KERAS_HOME=str(tmp_path / "keras"),
                     MPLCONFIGDIR=str(tmp_path / "matplotlib"))
    assert not home.exists()
    assert "no C++ compiler found" in out
    assert [p.name for p in temp.iterdir()] == [f"keras_optims-{os.getuid()}"]


# ---------------------------------------------------------------------------
# A build that recovers.

COUNTING_COMPILER = """#!/bin/sh
# Counts builds, then runs the stand-in compiler with every argument.
case " $* " in *" -shared "*) echo build >> "{log}" ;; esac
exec sh "{stub}" "$@"
"""

LOAD_IN_THREADS = """
    import threading
    from keras_optims import native
    results = []
    def load():
        try:
            native.load(); results.append("ok")
        except Exception as error:
            results.append(repr(error))
    threads = [threading.Thread(target=load) for _ in range(3)]
    [t.start() for t in threads]; [t.join() for t in threads]
    print("RESULTS", results)
"""


@pytest.mark.slow
def test_concurrent_first_builds_all_succeed_build_once_and_leave_nothing_behind(tmp_path, stub_compiler):
    """Three processes of three threads each load the kernel from an empty
    cache at once, through a compiler command with an argument (``CXX="sh
    script"``). Before: a command with arguments was not found, and threads
    of one process built into the same temporary file."""
    cache, log = tmp_path / "cache", tmp_path / "builds.log"
    script = tmp_path / "cxx.sh"
    script.write_text(COUNTING_COMPILER.format(log=log, stub=stub_compiler))
    env = {**os.environ, **PYTHON_ENV, "KERAS_OPTIMS_CACHE_DIR": str(cache), "CXX": f"sh {script}"}
    processes = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(LOAD_IN_THREADS)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    for (out, err), process in zip(outputs, processes):
        assert process.returncode == 0, err[-2000:]
        assert "RESULTS ['ok', 'ok', 'ok']" in out, out + err[-2000:]
    assert log.read_text().split() == ["build"]
    assert {p.name for p in cache.iterdir()} == {path_in(cache, CXX=f"sh {script}").name, record_in(cache, CXX=f"sh {script}")}


@pytest.mark.slow
def test_a_corrupt_cached_library_is_rebuilt_once(tmp_path, stub_compiler):
    """Before: a truncated library disabled the kernel for good."""
    cache, cxx = tmp_path / "cache", f"sh {stub_compiler}"
    library = path_in(cache, CXX=cxx)
    cache.mkdir(mode=0o700)
    library.write_bytes(b"\x7fELF truncated")
    os.chmod(library, 0o700)
    out = run_python("""
        from keras_optims import native
        native.load()
        print("LOADED", native.library_path())
    """, KERAS_OPTIMS_CACHE_DIR=str(cache), CXX=cxx)
    assert f"LOADED {library}" in out and "rebuilding it once" in out
    assert library.stat().st_size > 10_000
    assert {p.name for p in cache.iterdir()} == {library.name, record_in(cache, CXX=cxx)}


SLOW_COMPILER = """#!/bin/sh
case " $* " in *" -shared "*) sleep 60 ;; *) echo "slow compiler 1.0" ;; esac
"""


@pytest.mark.slow
def test_the_compiler_gets_a_timeout(tmp_path, monkeypatch):
    """Before: a hanging compiler hung the first training step (here the
    compiler sleeps 60 s: without the timeout the 40 s limit fails the test)."""
    script = tmp_path / "slow.sh"
    script.write_text(SLOW_COMPILER)
    cache = tmp_path / "cache"
    out = run_python("""
        from keras_optims import native
        try:
            native.load()
        except native.NativeUnavailable as error:
            print("FAILED", error)
    """, timeout=40, KERAS_OPTIMS_CACHE_DIR=str(cache), CXX=f"sh {script}", KERAS_OPTIMS_BUILD_TIMEOUT="1")
    assert f"FAILED the compiler (sh {script}) did not finish within 1 s" in out
    assert list(cache.iterdir()) == []
    monkeypatch.setenv("KERAS_OPTIMS_BUILD_TIMEOUT", "soon")
    with pytest.raises(native.NativeUnavailable, match="KERAS_OPTIMS_BUILD_TIMEOUT must be a positive number"):
        native.build_timeout()


def test_the_cache_key_covers_what_decides_tensorflows_abi(tmp_path, monkeypatch):
    """Every part changes the key: the source, TensorFlow's version, git
    version and build flags, the compile flags, the compiler's version.
    Before: only TensorFlow's version string and the build command were in
    the key, so another build of the same version (git version, build
    flags) or another compiler version reused a stale library."""
    base = native.library_path()
    with monkeypatch.context() as patch:
        # One path, two contents: only the bytes differ (the path is in the
        # build command, which is part of the key too).
        copy = tmp_path / native.SOURCE.name
        copy.write_bytes(native.SOURCE.read_bytes())
        patch.setattr(native.build, "SOURCE", copy)
        same = native.library_path()
        copy.write_bytes(copy.read_bytes() + b"\n// one more line\n")
        assert native.library_path() != same
    with monkeypatch.context() as patch:
        patch.setattr(tf, "__version__", tf.__version__ + ".post1")
        assert native.library_path() != base
    with monkeypatch.context() as patch:
        patch.setattr(tf.version, "GIT_VERSION", "v0.0.0-another-build")
        assert native.library_path() != base
    with monkeypatch.context() as patch:
        build_info = dict(tf.sysconfig.get_build_info())
        patch.setattr(tf.sysconfig, "get_build_info", lambda: {**build_info, "cuda_version": "99.9"})
        assert native.library_path() != base
    with monkeypatch.context() as patch:
        flags = tf.sysconfig.get_compile_flags()
        patch.setattr(tf.sysconfig, "get_compile_flags", lambda: [*flags, "-D_GLIBCXX_USE_CXX11_ABI=0"])
        assert native.library_path() != base
    # One compiler command whose --version changes (an upgrade in place):
    # only the version differs, not the command in the build line.
    versions, script = [], tmp_path / "cxx.sh"
    monkeypatch.setenv("CXX", f"sh {script}")
    for version in ("1.0", "2.0"):
        script.write_text(f'#!/bin/sh\ncase " $* " in *" --version "*) echo "cc {version}"; exit 0 ;; esac\nexec c++ "$@"\n')
        native.build._compiler_version.cache_clear()  # asked once per process and command
        versions.append(native.library_path())
    assert versions[0] != versions[1]


NO_GETUID = """
    import os
    del os.getuid
""" + TRY_THE_KERNEL

NO_HOME = """
    import pathlib, tempfile
    def no_home():
        raise RuntimeError("Could not determine home directory.")
    pathlib.Path.home = staticmethod(no_home)
    tempfile.tempdir = {tmp!r}
""" + TRY_THE_KERNEL


@pytest.mark.slow
@pytest.mark.parametrize("what", ["no os.getuid", "no home folder"])
def test_any_failure_becomes_one_warning_and_the_xla_path(tmp_path, what):
    """Before: a missing home folder raised RuntimeError out of the first
    training step."""
    if what == "no os.getuid":
        out = run_python(NO_GETUID, KERAS_OPTIMS_CACHE_DIR=str(tmp_path / "cache"))
        assert "no user ids (os.getuid)" in out
    else:
        out = run_python(NO_HOME.format(tmp=str(tmp_path)), KERAS_OPTIMS_CACHE_DIR=None, XDG_CACHE_HOME=None,
                         HOME=None, CXX="no-such-compiler-here")
        assert "no C++ compiler found" in out
    assert "FUSED TRUE: fused=True needs the fused CPU kernel" in out
    assert len([line for line in out.splitlines() if "RuntimeWarning" in line]) == 1, out
    assert "PATHS: {'xla': 1}" in out


# ---------------------------------------------------------------------------
# Inputs: the op checks everything before it touches memory.

RULES = {"gradient_descent": (0, 1), "momentum": (1, 3), "rmsprop": (1, 4), "rmsprop_keras": (1, 4), "adam": (2, 6)}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def valid_call(rng, dtype=tf.float32):
    """A random call that fits: variables laid out one after the other in
    slot buffers with some spare room."""
    rule = str(rng.choice(list(RULES)))
    slots, scalars = RULES[rule]
    sizes = [int(rng.integers(1, 40)) for _ in range(int(rng.integers(1, 4)))]
    offsets, position = [], 0
    for size in sizes:
        position += int(rng.integers(0, 3))
        offsets.append(position)
        position += size
    call = {
        "kernel": rule,
        "variables": [tf.Variable(rng.standard_normal(n), dtype=dtype) for n in sizes],
        "gradients": [tf.constant(rng.standard_normal(n), dtype=dtype) for n in sizes],
        "slot_buffers": [tf.Variable(rng.random(position + 2), dtype=dtype) for _ in range(slots)],
        "offsets": offsets,
        "scalars": tf.constant(rng.random(scalars), tf.float64),
    }
    return call


def corrupt(call, rng):
    """`call` with one thing wrong; what."""
    n = len(call["variables"])
    has_slots = bool(call["slot_buffers"])
    buffer = int(call["slot_buffers"][0].shape[0]) if has_slots else 0
    sizes = [int(v.shape[0]) for v in call["variables"]]
    i = int(rng.integers(n))
    choices = ["offset count", "scalar count", "gradient shape", "variable dtype", "gradient dtypes",
               "same variable twice", "gradient count"]
    if has_slots:
        choices += ["offset near int64 max", "offset near int64 min", "negative offset", "past the end",
                    "overlap", "slot dtype", "variable as slot buffer"]
    if len(call["slot_buffers"]) == 2:
        choices.append("same slot buffer twice")
    what = str(rng.choice(choices))
    offsets = list(call["offsets"])
    if what == "offset count":
        call["offsets"] = offsets + [0] if rng.random() < 0.5 else offsets[:-1]
    elif what == "scalar count":
        k = int(call["scalars"].shape[0]) + int(rng.choice([-1, 1]))
        call["scalars"] = tf.constant(rng.random(k), tf.float64)
    elif what == "gradient shape":
        call["gradients"][i] = tf.ones(sizes[i] + 1, call["gradients"][i].dtype)
    elif what == "variable dtype":
        call["variables"][i] = tf.Variable(np.ones(sizes[i]), dtype=tf.float64)
    elif what == "gradient dtypes":
        call["gradients"][i] = tf.ones(sizes[i], tf.float64)
        if n == 1:
            call["variables"].append(tf.Variable(tf.ones(2)))
            call["gradients"].append(tf.ones(2))
            call["offsets"].append(0)
    elif what == "same variable twice":
        call["variables"].append(call["variables"][i])
        call["gradients"].append(call["gradients"][i])
        call["offsets"].append(buffer - sizes[i] if has_slots else 0)
    elif what == "gradient count":
        call["gradients"] = call["gradients"][:-1] if n > 1 else call["gradients"] * 2
    elif what == "offset near int64 max":
        offsets[i] = INT64_MAX - int(rng.integers(0, sizes[i] + 1))
    elif what == "offset near int64 min":
        offsets[i] = INT64_MIN + int(rng.integers(0, 1000))
    elif what == "negative offset":
        offsets[i] = -int(rng.integers(1, 5))
    elif what == "past the end":
        offsets[i] = buffer - sizes[i] + int(rng.integers(1, 5))
    elif what == "overlap":
        if n == 1:
            call["variables"].append(tf.Variable(tf.ones(3)))
            call["gradients"].append(tf.ones(3))
            offsets.append(offsets[0] + int(rng.integers(0, sizes[0])))
        else:
            j = (i + 1) % n
            offsets[j] = offsets[i] + int(rng.integers(0, sizes[i]))
            offsets[j] = min(offsets[j], buffer - sizes[j])  # stays inside the buffer
            if not (offsets[j] < offsets[i] + sizes[i] and offsets[i] < offsets[j] + sizes[j]):
                offsets[j] = offsets[i]
    elif what == "slot dtype":
        call["slot_buffers"][-1] = tf.Variable(tf.zeros(buffer, tf.float64))
    elif what == "variable as slot buffer":
        call["slot_buffers"][0] = call["variables"][i]
    elif what == "same slot buffer twice":
        call["slot_buffers"][1] = call["slot_buffers"][0]
    if what in ("offset near int64 max", "offset near int64 min", "negative offset", "past the end", "overlap"):
        call["offsets"] = offsets
    return what


def snapshot(call):
    return [v.numpy().tobytes() for v in [*call["variables"], *call["slot_buffers"]]]


def test_bad_inputs_raise_and_write_nothing():
    """Random calls with one thing wrong each. Before: an offset near 2⁶³
    passed the bounds check (offset + size overflowed) and overlapping parts
    were accepted: the call wrote outside the buffers (heap corruption)."""
    rng = np.random.default_rng(13)
    seen = set()
    for trial in range(300):
        call = valid_call(rng)
        what = corrupt(call, rng)
        seen.add(what)
        before = snapshot(call)
        with pytest.raises(tf.errors.InvalidArgumentError):
            native.update(**call)
        assert snapshot(call) == before, f"trial {trial} ({what}) wrote into a buffer"
    assert len(seen) == 15, seen
    # Control: valid calls of the same generator write.
    for _ in range(20):
        call = valid_call(rng)
        before = snapshot(call)
        native.update(**call)
        assert snapshot(call) != before
