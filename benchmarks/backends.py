"""Optimizer steps on the Keras backend that KERAS_BACKEND names: ours vs
that backend's Keras built-in and the backend's own library, measured in
one process.

    KERAS_BACKEND=torch python benchmarks/backends.py [--quick] [--repeats N] [--json PATH]

`benchmarks/bench.py` runs it for JAX and PyTorch and prints its rows.

One optimizer step, milliseconds (median over rounds, the cases
interleaved, each call started with cold caches: bench.py's
`time_interleaved`), the way each runs in training:
- JAX (Adam): a `jax.jit` function of the state that applies one step
  (`optimizer.stateless_apply`, as inside Keras's compiled train step; the
  state donated, as Keras does), and optax's `update` + `apply_updates`
  jitted the same way;
- PyTorch (all four optimizers): `optimizer.apply(grads, variables)`
  (Keras's eager step) and the matching `torch.optim` class's `step()`
  (`TORCH_PEERS`: SGD fused, with dampening β for momentum; RMSprop
  foreach; Adam fused).
Each call ends when the device is done (`block_until_ready`, or a
one-element read on PyTorch).

Shapes: (a) 4 × (1000, 1000) + (1000,) float32 variables; (b) 100 × (100,
100) + 100 × (100,) float32, as in bench.py. (`model.fit` on every backend:
`fit.py`.)
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import shapes, time_interleaved  # noqa: E402


BUILTINS = {  # the nearest Keras built-in, with its defaults
    "Adam": lambda keras: keras.optimizers.Adam(),
    "RMSProp": lambda keras: keras.optimizers.RMSprop(),
    "Momentum": lambda keras: keras.optimizers.SGD(momentum=0.9),
    "GradientDescent": lambda keras: keras.optimizers.SGD(),
}


def arrays(variable_shapes):
    """Seeded float32 weights and gradients (NumPy) of the given shapes."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s).astype("float32") for s in variable_shapes]
    return weights, [rng.standard_normal(s).astype("float32") * 1e-3 for s in variable_shapes]


def jax_cases(variable_shapes, optimizer="Adam"):
    """{case: one step, the device synchronised}: ours and Keras's built-in
    as `jax.jit` functions of the state calling `stateless_apply` (the state
    donated, as Keras's train step does), and for Adam optax's adam."""
    import jax
    import keras
    import optax

    import keras_optims

    weights, numpy_grads = arrays(variable_shapes)
    grads = [jax.numpy.asarray(g) for g in numpy_grads]

    def keras_case(instance):
        variables = [keras.Variable(w) for w in weights]
        instance.build(variables)
        step = jax.jit(lambda t, s, g: instance.stateless_apply(s, g, t), donate_argnums=(0, 1))
        state = {"t": [v.value for v in variables], "s": [v.value for v in instance.variables]}

        def run():
            state["t"], state["s"] = step(state["t"], state["s"], grads)
            jax.block_until_ready(state["t"])

        return run

    cases = {"ours": keras_case(getattr(keras_optims, optimizer)()), "keras": keras_case(BUILTINS[optimizer](keras))}
    if optimizer == "Adam":
        transformation = optax.adam(0.001)

        def optax_step(params, opt_state, g):
            updates, opt_state = transformation.update(g, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        optax_jit = jax.jit(optax_step, donate_argnums=(0, 1))
        params = [jax.numpy.asarray(w) for w in weights]
        optax_state = {"p": params, "s": transformation.init(params)}

        def optax_run():
            optax_state["p"], optax_state["s"] = optax_jit(optax_state["p"], optax_state["s"], grads)
            jax.block_until_ready(optax_state["p"])

        cases["optax adam"] = optax_run
    return cases


# torch.optim's class for each course optimizer, at its fastest on the
# device: fused where torch has a fused form (SGD, Adam), else foreach.
# SGD with dampening β computes the course's momentum (its first step
# aside: torch starts the buffer at dW).
TORCH_PEERS = {
    "GradientDescent": ("torch fused sgd", lambda torch, p: torch.optim.SGD(p, lr=0.01, fused=True)),
    "Momentum": ("torch fused sgd", lambda torch, p: torch.optim.SGD(p, lr=0.01, momentum=0.9, dampening=0.9,
                                                                     fused=True)),
    "RMSProp": ("torch foreach rmsprop", lambda torch, p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, foreach=True)),
    "Adam": ("torch fused adam", lambda torch, p: torch.optim.Adam(p, lr=0.001, fused=True)),
}


def torch_cases(variable_shapes, optimizer="Adam"):
    """{case: one step, the device synchronised (a one-element read)}: ours
    and Keras's built-in with `optimizer.apply` (Keras's eager step), and
    the matching `torch.optim` class (`TORCH_PEERS`), on Keras's device."""
    import keras
    import torch

    import keras_optims

    weights, numpy_grads = arrays(variable_shapes)
    grads = [keras.ops.convert_to_tensor(g) for g in numpy_grads]

    def keras_case(instance):
        variables = [keras.Variable(w) for w in weights]
        instance.build(variables)

        def run():
            instance.apply(grads, variables)
            variables[0].value.view(-1)[0].item()

        return run

    cases = {"ours": keras_case(getattr(keras_optims, optimizer)()), "keras": keras_case(BUILTINS[optimizer](keras))}
    if optimizer != "RMSProp":  # torch's fused kernels compute the other three: ours without them too
        cases["ours in-place"] = keras_case(getattr(keras_optims, optimizer)(fused=False))
    peer, make_peer = TORCH_PEERS[optimizer]
    params = [torch.nn.Parameter(torch.as_tensor(w, device=g.device)) for w, g in zip(weights, grads)]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch_optimizer = make_peer(torch, params)

    def torch_run():
        torch_optimizer.step()
        params[0].view(-1)[0].item()

    cases[peer] = torch_run
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 40; 3 with --quick)")
    parser.add_argument("--json", help="write the rows as JSON")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 40)

    import keras

    backend = keras.backend.backend()
    make_cases = {"jax": jax_cases, "torch": torch_cases}.get(backend)
    if make_cases is None:
        parser.error(f"runs under KERAS_BACKEND=jax or torch, not {backend!r} (bench.py measures TensorFlow)")
    # PyTorch: every optimizer against its torch.optim class; JAX: Adam
    # against optax's.
    optimizers = ("GradientDescent", "Momentum", "RMSProp", "Adam") if backend == "torch" else ("Adam",)
    rows = []
    for optimizer in optimizers:
        for shape_name in ("a", "b"):
            cases = make_cases(shapes(shape_name, args.quick), optimizer)
            ms = {k: v * 1e3 for k, v in time_interleaved(cases, repeats).items()}
            peer = next(k for k in ms if k not in ("ours", "keras", "ours in-place"))
            rows.append({
                "backend": backend, "optimizer": optimizer, "shape": shape_name, "ms": ms, "peer": peer,
                "keras_over_ours": ms["keras"] / ms["ours"], "ours_over_peer": ms["ours"] / ms[peer],
            })
            print(f"{backend:<6} {optimizer:<15} {shape_name:<2} ours {ms['ours']:8.2f} ms  keras {ms['keras']:8.2f} ms  "
                  f"{peer} {ms[peer]:8.2f} ms  keras/ours {ms['keras'] / ms['ours']:5.2f}×  "
                  f"ours/{peer.split()[0]} {ms['ours'] / ms[peer]:5.2f}×"
                  + (f"  in-place {ms['ours in-place']:8.2f} ms" if "ours in-place" in ms else ""), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"backend": backend, "repeats": repeats, "steps": rows}, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
