"""What a measuring run may change in a user's model, saved and put back.

A learning-rate range test or a batch-size sweep trains the user's own
compiled model. `TrainingState.capture(model)` saves, and `restore()` puts
back bit for bit:

- every model variable (weights, non-trainable state such as batch-norm
  statistics, and the dropout layers' seed-generator states);
- every optimizer variable (iterations, the learning-rate variable, slots,
  a `LossScaleOptimizer`'s scale and counter), of the wrapper and of the
  optimizer inside it;
- the learning rate object itself (a variable or a schedule: a run that
  swaps in its own schedule swaps the user's back) and so the config;
- the compiled metrics' variables (metrics built during the run are reset);
- the model's `train_function`, `stop_training` and `history`, so the next
  `fit` reuses what it had compiled;
- the random state `fit` draws on: Python's `random`, NumPy's global
  generator (shuffling under JAX and PyTorch), TensorFlow's operation-seed
  sequence and global generator, torch's generator, Keras's global seed
  generator.

Values are copied to NumPy when captured and assigned back when restored;
an optimizer not built yet is built when the state is captured (as the
first step would build it), and a metric built during the run is reset.
"""

import random

import keras
import numpy as np

from keras_optims.tuning import flavour

_MISSING = object()


def optimizers_of(model):
    """The model's optimizer and, through any `LossScaleOptimizer`, the one inside."""
    optimizer = model.optimizer
    out = [optimizer]
    while getattr(optimizer, "inner_optimizer", None) is not None:
        optimizer = optimizer.inner_optimizer
        out.append(optimizer)
    return out


def _variables(model):
    seen, out = set(), []
    optimizers = optimizers_of(model)
    # tf_keras keeps the learning-rate variable out of `optimizer.variables`.
    learning_rates = [o._learning_rate for o in optimizers if flavour.is_variable(o._learning_rate)]
    groups = [model.variables, *(flavour.optimizer_variables(o) for o in optimizers), learning_rates,
              flavour.metric_variables(model)]
    for group in groups:
        for variable in group:
            if id(variable) not in seen:
                seen.add(id(variable))
                out.append(variable)
    return out


def _random_state():
    state = {"python": random.getstate(), "numpy": np.random.get_state()}
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from tensorflow.python.eager import context
        from tensorflow.python.ops import stateful_random_ops

        rng = getattr(context.context(), "_rng", None)  # the eager operation-seed sequence
        state["tf_op_seeds"] = rng.getstate() if rng is not None else None
        generator = stateful_random_ops.global_generator  # None until something asks for it
        if generator is not None:
            state["tf_generator"] = (generator, generator.state.numpy())
    elif backend == "torch":
        import torch

        state["torch"] = torch.get_rng_state()
    from keras.src.backend.common import global_state

    keras_generator = global_state.get_global_attribute("global_seed_generator")
    if keras_generator is not None:
        state["keras_generator"] = np.array(keras_generator.state.numpy())
    return state


def _restore_random_state(state):
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "tf_op_seeds" in state:
        from tensorflow.python.eager import context

        rng = getattr(context.context(), "_rng", None)
        if rng is not None and state["tf_op_seeds"] is not None:
            rng.setstate(state["tf_op_seeds"])
        if "tf_generator" in state:
            generator, value = state["tf_generator"]
            generator.state.assign(value)
    if "torch" in state:
        import torch

        torch.set_rng_state(state["torch"])
    if "keras_generator" in state:
        from keras.src.backend.common import global_state

        global_state.get_global_attribute("global_seed_generator").state.assign(state["keras_generator"])


def before_fit(model):
    """What `fit` changes before any callback runs: the model's
    `train_function`, `stop_training` and `history`, and the random state
    (the shuffle of the epoch and the data pipeline draw on it). A tool that
    calls `fit` itself takes these first and passes them to `capture`."""
    return {
        "attributes": {name: getattr(model, name, _MISSING) for name in ("train_function", "stop_training", "history")},
        "random": _random_state(),
    }


class TrainingState:
    """A compiled model's training state, captured to be put back exactly."""

    def __init__(self, model, before=None):
        self.model = model
        self.restored = False
        self._variables_restored = False
        if not flavour.optimizer_built(model.optimizer):
            # What the first step would do (Keras builds the optimizer there
            # under TensorFlow and PyTorch): now, so that its variables'
            # first values are captured too.
            model.optimizer.build(model.trainable_variables)
        variables = _variables(model)
        self._variables = [(variable, flavour.read(variable)) for variable in variables]
        self._known = {id(variable) for variable in variables}
        self._learning_rates = [(o, o._learning_rate) for o in optimizers_of(model)]
        before = before if before is not None else before_fit(model)
        self._attributes, self._random = before["attributes"], before["random"]

    @classmethod
    def capture(cls, model, before=None):
        """Saves `model`'s state (see the module docstring). `before`:
        `before_fit(model)` taken before the `fit` whose callback captures,
        else the attributes and random state are read now."""
        return cls(model, before)

    def restore(self, history=True):
        """Puts everything captured back; a call after a full one does
        nothing. `history=False` (from inside `fit`, whose return value is
        its `history`) leaves `model.history` to a later full call, which
        then sets only what is left (the variables are not assigned twice)."""
        if self.restored:
            return
        self.restored = history
        if not self._variables_restored:
            self.reset_variables()
            self._variables_restored = True
        for name, value in self._attributes.items():
            if name == "history" and not history:
                continue
            if value is _MISSING:
                if name in self.model.__dict__:
                    delattr(self.model, name)
            else:
                setattr(self.model, name, value)
        _restore_random_state(self._random)

    def keep(self, name):
        """Leaves the model attribute `name` as it will be, not as captured."""
        self._attributes.pop(name, None)

    def reset_variables(self):
        """Puts back the learning rates and the variables' values only (a
        batch-size sweep starts each batch size from them)."""
        model = self.model
        for optimizer, learning_rate in self._learning_rates:
            # Past Keras's attribute tracking: the object is the one the
            # optimizer was built with, already tracked.
            object.__setattr__(optimizer, "_learning_rate", learning_rate)
        for metric in model.metrics:
            if any(id(v) not in self._known for v in metric.variables):
                metric.reset_state()
        for variable, value in self._variables:
            variable.assign(value)
