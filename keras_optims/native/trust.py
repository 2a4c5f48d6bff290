"""What the fused kernel's loader may load: native code goes into the user's
process, so only a folder and a file that belong to the current user and
that no one else can write, checked on the open descriptor, not on a path
(see the package's docstring, "Trust")."""

import errno
import os
import stat

CLOEXEC = getattr(os, "O_CLOEXEC", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class NativeUnavailable(RuntimeError):
    """The fused kernel cannot be built or loaded here; the message says why."""


class Untrusted(NativeUnavailable):
    """The cache folder or the library in it could have been written by
    someone else: it is not loaded."""


def current_uid():
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        raise NativeUnavailable("this platform has no user ids (os.getuid), so who owns the cache cannot be checked")
    return getuid()


def check_private(path, what, uid=None, info=None):
    """Raises `NativeUnavailable` unless `path` (a `what`: "folder" or
    "file") is not a symbolic link, belongs to `uid` (the current user) and
    cannot be written by its group or others. `info`: the `os.stat_result`
    to judge (from ``fstat`` on an open descriptor), default ``lstat(path)``."""
    uid = current_uid() if uid is None else uid
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


def private_folder(folder, uid):
    """Creates `folder` and any missing parent (0700) if it does not exist,
    then opens it (`open_folder`): a checked descriptor."""
    missing, ancestor = [], folder
    while not os.path.lexists(ancestor):
        missing.append(ancestor)
        ancestor = ancestor.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, 0o700)
        except FileExistsError:
            pass  # created meanwhile, by us or by someone else: checked below
    return open_folder(folder, uid)


def open_folder(folder, uid):
    """A descriptor of `folder` (``O_DIRECTORY | O_NOFOLLOW``), checked with
    ``fstat``: everything after this goes through it, whatever happens to
    the path."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW | CLOEXEC)
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


def open_file(folder_fd, folder, name, uid, flags=os.O_RDONLY):
    """A descriptor of `name` in the open folder (``openat`` with
    ``O_NOFOLLOW``), checked with ``fstat``; FileNotFoundError if absent."""
    try:
        descriptor = os.open(name, flags | NOFOLLOW | CLOEXEC, dir_fd=folder_fd)
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


def descriptor_path(descriptor):
    """A path that opens what `descriptor` refers to, whatever has happened
    to its name since it was opened, in this process and its children."""
    for path in (f"/proc/{os.getpid()}/fd/{descriptor}", f"/dev/fd/{descriptor}"):
        if os.path.exists(path):
            return path
    raise NativeUnavailable("this platform cannot open a file by its descriptor (no /proc/<pid>/fd or /dev/fd)")
