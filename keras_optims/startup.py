"""The verification CLI's start-up: what must happen before Keras is imported.

``python -m keras_optims.verification`` and ``keras-optims-verify`` choose
Keras's backend (``--backend``) and quiet TensorFlow's native log lines, and
both must happen before ``import keras``. Python imports this package (whose
``__init__`` imports Keras) before the CLI's own module, so the package's
``__init__`` calls `prepare_verification_cli` first; this module reads the
command line itself and imports nothing but the standard library and
`keras_optims.compat`'s table of backends.
"""

import contextlib
import os
import re
import sys
import tempfile

from keras_optims.compat import BACKENDS, configured_backend, installed_backends


def verification_cli_arguments():
    """The command-line arguments when this process was started as the
    verification CLI (``python -m keras_optims.verification`` or
    ``keras-optims-verify``), else None. The CLI chooses its backend and its
    logging before Keras is imported, and the package's ``__init__`` imports
    Keras, so they are read here, from the command line, before that import."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if "-m" in argv and argv.index("-m") + 1 < len(argv) and argv[argv.index("-m") + 1] == "keras_optims.verification":
        return argv[argv.index("-m") + 2:]
    if sys.argv and os.path.basename(sys.argv[0]) == "keras-optims-verify":
        return sys.argv[1:]
    return None


def verification_cli_backend():
    """The ``--backend`` argument of the verification CLI, else None."""
    arguments = verification_cli_arguments() or []
    for i, argument in enumerate(arguments):
        if argument == "--backend" and i + 1 < len(arguments):
            return arguments[i + 1]
        if argument.startswith("--backend="):
            return argument.split("=", 1)[1]
    return None


def prepare_verification_cli():
    """For the verification CLI, before Keras is imported:

    - ``--backend X`` (one backend) is Keras's backend in this process too,
      so that the CLI needs neither ``KERAS_BACKEND`` nor the default
      backend's library. (It still runs the suite in a new process with
      ``KERAS_BACKEND=X``.) With ``--backend all`` this process is an
      installed backend's (the configured one if it is installed): it only
      starts one process per installed backend.
    - TensorFlow's native log lines (XLA start-up, "Compiled cluster using
      XLA!", CUDA probing on a machine without a GPU) would interleave with
      the table: the CLI quiets them (``TF_CPP_MIN_LOG_LEVEL=3``, inherited by
      the per-backend processes) unless the user chose another level or asked
      for ``--verbose``."""
    arguments = verification_cli_arguments()
    if arguments is None:
        return
    chosen = verification_cli_backend()
    if chosen == "all":  # this process only starts the others: any installed backend will do
        installed, configured = installed_backends(), configured_backend()[0]
        chosen = configured if configured in installed else next(iter(installed), None)
    if chosen in BACKENDS and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = chosen
    global _QUIET
    if "--verbose" not in arguments:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        _QUIET = os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


_QUIET = False
# A line of TensorFlow's native logging: "I0000 00:00:1796.5  6337 file.cc:31] …",
# absl's notice before its logging starts, and the CPU-features line's tail.
NATIVE_LOG_LINE = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] |WARNING: All log messages before absl::InitializeLog"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags)"
)


@contextlib.contextmanager
def native_log_lines_dropped():
    """In the verification CLI at log level 3 (no native logs: its default),
    around the import of Keras and around the suite: the lines TensorFlow's
    native code writes to standard error before that level takes effect
    (absl's start-up notice, CUDA probing; TensorFlow may first be imported
    in the middle of a JAX or PyTorch run, for the equivalence rows) are
    dropped. Everything else written there is kept, and written out when the
    block ends."""
    if not _QUIET:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not NATIVE_LOG_LINE.match(line)))
            sys.stderr.flush()
