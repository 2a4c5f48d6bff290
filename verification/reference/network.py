"""A fully connected network with L layers and hand-written backpropagation.

Layout as in the course: X is (n_x, m), examples are columns; layer l has
W[l] of shape (n_l, n_{l−1}) and b[l] of shape (n_l, 1).

    forward     Z[l] = W[l]·A[l−1] + b[l];   A[l] = g[l](Z[l]);   A[0] = X
    hidden g    relu, tanh or sigmoid
    output      sigmoid with binary cross-entropy  J = −(1/m)·Σ (y·log a + (1−y)·log(1−a))
                softmax with categorical cross-entropy J = −(1/m)·Σ Σ y·log a
    L2 term     + (λ / 2m)·Σ_l ‖W[l]‖²_F   (weights only, not biases)

    backward    dZ[L] = A[L] − Y           (both outputs, with their own loss)
                dW[l] = (1/m)·dZ[l]·A[l−1]ᵀ + (λ/m)·W[l]
                db[l] = (1/m)·Σ_columns dZ[l]
                dA[l−1] = W[l]ᵀ·dZ[l];  dZ[l−1] = dA[l−1] ∘ g′(Z[l−1])
"""

import numpy as np


def _relu(Z):
    return np.maximum(Z, 0.0)


def _relu_derivative(Z):
    return (Z > 0).astype(np.float64)


def _sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def _sigmoid_derivative(Z):
    A = _sigmoid(Z)
    return A * (1.0 - A)


def _tanh_derivative(Z):
    return 1.0 - np.tanh(Z) ** 2


HIDDEN = {
    "relu": (_relu, _relu_derivative),
    "tanh": (np.tanh, _tanh_derivative),
    "sigmoid": (_sigmoid, _sigmoid_derivative),
}
OUTPUTS = ("sigmoid", "softmax")


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


class Network:
    """A dense network in the course's notation.

    Args:
        layer_dims: [n_x, n_1, …, n_L].
        hidden: activation of the hidden layers: "relu", "tanh" or "sigmoid".
        output: "sigmoid" (with binary cross-entropy, n_L = 1 or more
            independent outputs) or "softmax" (with categorical cross-entropy).
        l2: λ of the L2 term (0 for none).
        seed: seed of the initialisation: He (√(2/n_{l−1})) for ReLU,
            Xavier (√(1/n_{l−1})) otherwise; biases start at zero.
    """

    def __init__(self, layer_dims, hidden="relu", output="sigmoid", l2=0.0, seed=0):
        if hidden not in HIDDEN:
            raise ValueError(f"hidden must be one of {sorted(HIDDEN)}, not {hidden!r}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, not {output!r}")
        self.layer_dims = list(layer_dims)
        self.hidden, self.output, self.l2 = hidden, output, float(l2)
        rng = np.random.default_rng(seed)
        scale = 2.0 if hidden == "relu" else 1.0
        self.parameters = {}
        for l in range(1, len(self.layer_dims)):
            n_in, n_out = self.layer_dims[l - 1], self.layer_dims[l]
            self.parameters[f"W{l}"] = rng.standard_normal((n_out, n_in)) * np.sqrt(scale / n_in)
            self.parameters[f"b{l}"] = np.zeros((n_out, 1))

    @property
    def L(self):
        return len(self.layer_dims) - 1

    def forward(self, X, parameters=None):
        """Returns (A[L], caches) with caches[l] = (A[l−1], Z[l])."""
        parameters = self.parameters if parameters is None else parameters
        g = HIDDEN[self.hidden][0]
        A, caches = np.asarray(X, np.float64), []
        for l in range(1, self.L + 1):
            Z = parameters[f"W{l}"] @ A + parameters[f"b{l}"]
            caches.append((A, Z))
            if l < self.L:
                A = g(Z)
            else:
                A = _sigmoid(Z) if self.output == "sigmoid" else _softmax(Z)
        return A, caches

    def cost(self, X, Y, parameters=None):
        """J, the mean loss over the m columns plus the L2 term."""
        parameters = self.parameters if parameters is None else parameters
        Y = np.asarray(Y, np.float64)
        m = Y.shape[1]
        _, caches = self.forward(X, parameters)
        Z = caches[-1][1]
        if self.output == "sigmoid":
            # log σ(z) = −log(1 + e^−z), log(1 − σ(z)) = −log(1 + e^z), evaluated stably.
            loss = Y * np.logaddexp(0.0, -Z) + (1 - Y) * np.logaddexp(0.0, Z)
        else:
            shifted = Z - Z.max(axis=0, keepdims=True)
            log_softmax = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
            loss = -Y * log_softmax
        J = loss.sum() / m
        if self.l2:
            J += self.l2 / (2 * m) * sum(np.sum(parameters[f"W{l}"] ** 2) for l in range(1, self.L + 1))
        return float(J)

    def gradients(self, X, Y, parameters=None):
        """{"dW1": …, "db1": …, …} by backpropagation (no autograd anywhere)."""
        parameters = self.parameters if parameters is None else parameters
        Y = np.asarray(Y, np.float64)
        m = Y.shape[1]
        AL, caches = self.forward(X, parameters)
        g_prime = HIDDEN[self.hidden][1]
        grads = {}
        dZ = AL - Y
        for l in range(self.L, 0, -1):
            A_prev, _ = caches[l - 1]
            W = parameters[f"W{l}"]
            grads[f"dW{l}"] = dZ @ A_prev.T / m + (self.l2 / m) * W
            grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
            if l > 1:
                dZ = (W.T @ dZ) * g_prime(caches[l - 2][1])
        return grads

    def predict(self, X, parameters=None):
        AL, _ = self.forward(X, parameters)
        return (AL > 0.5).astype(int) if self.output == "sigmoid" else AL.argmax(axis=0)
