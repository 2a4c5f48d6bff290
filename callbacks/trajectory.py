"""Recording weights during training, for pictures of optimizer paths."""

import keras
import numpy as np

from keras_optims import checks
from keras_optims.callbacks.serializable import SerializableCallback


@keras.saving.register_keras_serializable(package="keras_optims")
class TrajectoryRecorder(SerializableCallback):
    """Records chosen weights after every `every`-th optimizer step.

    Records the starting values (step 0) when training begins, then the values
    after steps `every`, `2·every`, … (the optimizer's step counter, so a
    second `fit` call continues the same record). After training:

        recorder.steps                 # int array, shape (n,)
        recorder.trajectories[path]    # array, shape (n, *variable.shape)

    Memory: n × (Σ sizes of the recorded variables) × bytes per element,
    kept in host memory as NumPy arrays. For example, all 1M float32
    parameters of a model recorded at each of 1,000 steps take 4 GB; record
    the few variables you want to plot, or raise `every`.

    Resuming (`BackupAndRestore`): at the start of each `fit` call, records of
    steps beyond the optimizer's current step (steps that the restart will
    train again) are dropped, so the record stays one value per step.

    Args:
        variables: `None` (all trainable weights), or a list of weights or of
            their paths; a path may leave out leading parts if what remains
            is unique (`"dense/kernel"` for `"sequential/dense/kernel"`).
        every: integer ≥ 1, record after every `every`-th step.

    Examples:
        A bias's path under momentum, one point per step:

        ```python
        import keras
        import numpy as np
        import keras_optims
        from keras_optims.callbacks import TrajectoryRecorder

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="dense")])
        model.compile(optimizer=keras_optims.Momentum(0.1), loss="mse")
        recorder = TrajectoryRecorder(["dense/bias"])
        model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0, callbacks=[recorder])
        assert list(recorder.steps) == [0, 1, 2, 3, 4]
        (path,) = recorder.trajectories
        assert recorder.trajectories[path].shape == (5, 1)
        ```
    """

    def __init__(self, variables=None, every=1):
        super().__init__()
        if variables is not None and not isinstance(variables, (list, tuple)):
            raise TypeError(
                "Argument `variables` must be None or a list of weights or paths. "
                f"Received: variables={variables!r}"
            )
        self.variables = None if variables is None else list(variables)
        self.every = checks.check_count("every", every)
        self._records = {}  # path -> list of arrays
        self._steps = []
        self._watched = []
        self._started = False

    def _resolve(self):
        weights = self.model.trainable_weights
        if self.variables is None:
            return list(weights)
        chosen = []
        for item in self.variables:
            if not isinstance(item, str):
                chosen.append(item)
                continue
            matches = [w for w in weights if w.path == item or w.path.endswith("/" + item)]
            if len(matches) != 1:
                problem = "matches no trainable weight" if not matches else "is ambiguous"
                raise ValueError(
                    f"TrajectoryRecorder: {item!r} {problem}. Trainable weights: "
                    f"{', '.join(w.path for w in weights)}"
                )
            chosen.append(matches[0])
        return chosen

    def _step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def _record(self, step):
        self._steps.append(step)
        for weight in self._watched:
            self._records.setdefault(weight.path, []).append(np.array(weight.numpy()))

    def on_train_begin(self, logs=None):
        self._watched = self._resolve()
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        # Not in on_train_begin: a BackupAndRestore listed after this callback
        # restores the weights and the step counter in its own on_train_begin.
        if self._started:
            return
        self._started = True
        step = self._step()
        keep = sum(1 for s in self._steps if s < step)
        del self._steps[keep:]
        for values in self._records.values():
            del values[keep:]
        if not self._steps or self._steps[-1] != step:
            self._record(step)

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step % self.every == 0 and (not self._steps or self._steps[-1] != step):
            self._record(step)

    @property
    def steps(self):
        return np.array(self._steps, dtype=np.int64)

    @property
    def trajectories(self):
        return {path: np.stack(values) for path, values in self._records.items()}

    def get_config(self):
        if self.variables is not None and not all(isinstance(v, str) for v in self.variables):
            raise ValueError(
                "TrajectoryRecorder can only be serialized when `variables` is None "
                "or a list of paths or names."
            )
        return {"variables": self.variables, "every": self.every}
