"""The memory-bandwidth floor of an optimizer step on this machine.

An optimizer step is memory-bound: Adam reads W, dW, v, s and writes W, v, s
(28 bytes per float32 parameter), momentum and RMSProp move 20 bytes,
gradient descent 12. The floor is the time of a fused, in-place streaming
update of the same bytes on all cores: a tiny C kernel (the course's rules,
one pass, OpenMP) compiled with the system compiler when the benchmark
starts. Without a compiler it falls back to NumPy copies of the same bytes,
single-threaded and with temporaries — a much weaker floor, and the output
says which one was measured.
"""

import ctypes
import os
import shutil
import subprocess
import tempfile

import numpy as np

BYTES_PER_PARAMETER = {"GradientDescent": 12, "Momentum": 20, "RMSProp": 20, "Adam": 28}

SOURCE = r"""
#include <math.h>
#include <stddef.h>
void gd(float *w, const float *g, ptrdiff_t n, float lr) {
    #pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) w[i] -= lr * g[i];
}
void momentum(float *w, const float *g, float *v, ptrdiff_t n, float lr, float b) {
    #pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) { float m = b * v[i] + (1.0f - b) * g[i]; v[i] = m; w[i] -= lr * m; }
}
void rmsprop(float *w, const float *g, float *s, ptrdiff_t n, float lr, float b, float eps) {
    #pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) {
        float q = b * s[i] + (1.0f - b) * g[i] * g[i]; s[i] = q; w[i] -= lr * g[i] / (sqrtf(q) + eps);
    }
}
void adam(float *w, const float *g, float *v, float *s, ptrdiff_t n, float lr_t, float b1, float b2, float eps_t) {
    #pragma omp parallel for simd schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) {
        float m = b1 * v[i] + (1.0f - b1) * g[i];
        float q = b2 * s[i] + (1.0f - b2) * g[i] * g[i];
        v[i] = m; s[i] = q; w[i] -= lr_t * m / (sqrtf(q) + eps_t);
    }
}
"""


class Floor:
    """Times fused streaming updates of `n` float32 parameters."""

    def __init__(self, n, seed=0):
        rng = np.random.default_rng(seed)
        self.n = n
        self.w, self.g, self.v, self.s = (rng.random(n, dtype=np.float32) for _ in range(4))
        self.kind, self.library = self._build()

    def _build(self):
        compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if compiler:
            directory = tempfile.mkdtemp(prefix="keras_optims_floor_")
            source, library = os.path.join(directory, "floor.c"), os.path.join(directory, "floor.so")
            with open(source, "w") as f:
                f.write(SOURCE)
            command = [compiler, "-O3", "-march=native", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC", source, "-o", library, "-lm"]
            if subprocess.run(command, capture_output=True).returncode == 0:
                lib = ctypes.CDLL(library)
                for name in ("gd", "momentum", "rmsprop", "adam"):
                    getattr(lib, name).restype = None
                threads = os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count())
                return f"C kernel ({os.path.basename(compiler)} -O3 -march=native -fopenmp, {threads} threads)", lib
        return "NumPy copies (no C compiler found; single-threaded, a weak floor)", None

    def step(self, optimizer):
        """One fused update for `optimizer` (a class name)."""
        p = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
        n, f = ctypes.c_ssize_t(self.n), ctypes.c_float
        lib = self.library
        if lib is None:
            return self._numpy_step(optimizer)
        if optimizer == "GradientDescent":
            lib.gd(p(self.w), p(self.g), n, f(1e-9))
        elif optimizer == "Momentum":
            lib.momentum(p(self.w), p(self.g), p(self.v), n, f(1e-9), f(0.9))
        elif optimizer == "RMSProp":
            lib.rmsprop(p(self.w), p(self.g), p(self.s), n, f(1e-9), f(0.9), f(1e-8))
        else:
            lib.adam(p(self.w), p(self.g), p(self.v), p(self.s), n, f(1e-9), f(0.9), f(0.999), f(1e-8))

    def _numpy_step(self, optimizer):
        # Moves the same bytes: read every input array, write every output array.
        outputs = {"GradientDescent": 1, "Momentum": 2, "RMSProp": 2, "Adam": 3}[optimizer]
        inputs = [self.w, self.g, self.v, self.s][: outputs + 1]
        for out, source in zip([self.w, self.v, self.s][:outputs], inputs[1:] + inputs[:1]):
            np.copyto(out, source)
