"""Configs are complete, and a saved model resumes in a new process with the
optimizer state it was saved with."""

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras
import keras_optims
from registry import CASE_IDS, CASES, make, spec
from resume_in_new_process import state

KERAS_ARGUMENTS = {"name": "custom", "clipnorm": 1.5, "use_ema": True, "ema_momentum": 0.95}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_config_lists_every_argument_and_round_trips(case):
    opt = make(case, jit_compile=False, **KERAS_ARGUMENTS)
    config = opt.get_config()
    own = set(inspect.signature(type(opt).__init__).parameters) - {"self", "kwargs"}
    assert own | {"jit_compile"} <= set(config)
    for name, value in {**case.kwargs, **KERAS_ARGUMENTS, "jit_compile": False}.items():
        assert config[name] == value, name
    rebuilt = type(opt).from_config(config)
    assert rebuilt.get_config() == config
    assert json.loads(json.dumps(config)) == config


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_keras_serialization_finds_the_registered_class(case):
    opt = make(case)
    serialized = keras.optimizers.serialize(opt)
    assert serialized["registered_name"] == f"keras_optims>{spec(case).cls.__name__}"
    rebuilt = keras.optimizers.deserialize(json.loads(json.dumps(serialized)))
    assert type(rebuilt) is type(opt) and rebuilt.get_config() == opt.get_config()
    assert keras.optimizers.get(serialized).get_config() == opt.get_config()


def test_schedule_learning_rate_round_trips():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    opt = keras_optims.Adam(learning_rate=schedule)
    rebuilt = keras_optims.Adam.from_config(opt.get_config())
    assert isinstance(rebuilt._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert rebuilt._learning_rate.get_config() == schedule.get_config()


def test_saved_model_resumes_in_a_new_process(tmp_path):
    """Train 3 epochs; save after 2. A new process loads the file with no
    custom_objects, must find the optimizer state exactly as saved, and after
    one more epoch must match the uninterrupted run bit for bit (same data
    order, CPU, same operations)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 4)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0])).astype("float32")[:, None]
    np.savez(tmp_path / "data.npz", X=X, y=y)
    expected = {}
    for case in CASES:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)])
        model.compile(optimizer=make(case), loss="mse")
        model.fit(X, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        model.save(tmp_path / f"{case.id}.keras")
        saved = state(model)
        model.fit(X, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        expected[case.id] = (saved, state(model), model.optimizer.get_config())

    script = Path(__file__).with_name("resume_in_new_process.py")
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=600)

    for case in CASES:
        saved, resumed, config = expected[case.id]
        info = json.loads((tmp_path / f"{case.id}.loaded.json").read_text())
        assert info["class"] == f"keras_optims.{spec(case).cls.__module__.split('.')[-1]}.{case.cls.__name__}"
        assert info["config"] == config
        loaded = np.load(tmp_path / f"{case.id}.loaded.npz")
        after = np.load(tmp_path / f"{case.id}.resumed.npz")
        assert sorted(loaded.files) == sorted(saved)
        assert int(loaded[[k for k in loaded.files if k.endswith("iteration")][0]]) == 8
        slot_keys = [k for k in saved if k.endswith(("_v", "_s"))]
        assert len(slot_keys) == 4 * len(spec(case).slots)
        for key in saved:
            np.testing.assert_array_equal(loaded[key], saved[key], err_msg=f"{case.id} {key} as loaded")
            np.testing.assert_array_equal(after[key], resumed[key], err_msg=f"{case.id} {key} after resuming")
