"""Builds the fused CPU kernel ahead of time, for a Docker image or a CI
cache, instead of on the first training step:

    python -m keras_optims.native

Builds the kernel for the installed TensorFlow and compiler into the cache
folder (`KERAS_OPTIMS_CACHE_DIR`, default ``~/.cache/keras_optims``), or
finds it built there, and prints where it is and the instruction set it
runs with: exit status 0. Where it cannot be built or loaded (no C++
compiler, a cache folder someone else can write, a platform without user
ids or file descriptors as paths, …) it prints the reason: exit status 1.
Training never needs this: without it the first step builds the kernel, and
without a kernel the optimizers run their update with XLA.
"""

import argparse
import sys


def main(argv=None):
    argparse.ArgumentParser(prog="python -m keras_optims.native", description=__doc__.split("\n\n")[0]).parse_args(argv)
    from keras_optims import native

    try:
        native.load()
        where, isa = native.library_path(), native.isa()
    except native.NativeUnavailable as error:
        print(f"keras_optims: the fused CPU kernel cannot be built or loaded here: {error}", file=sys.stderr)
        return 1
    print(f"keras_optims: the fused CPU kernel is ready: {where} (instruction set {isa})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
