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
from resume_in_new_process import CASES as RESUME_CASES

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


RESUME_SCRIPT = Path(__file__).with_name("resume_in_new_process.py")


def run_script(*args):
    done = subprocess.run([sys.executable, str(RESUME_SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_resume_in_a_new_process_is_bit_identical(tmp_path, case, dtype):
    """N = 16 steps straight vs k = 8 steps, save, load in a new process, 8
    more steps: weights, slots, iterations and learning rate bit-identical
    (CPU, op determinism on, same batches), for .keras files,
    model.save_weights and tf.train.Checkpoint."""
    run_script("train", tmp_path, case, dtype)
    run_script("resume", tmp_path, case, dtype)
    saved, straight = np.load(tmp_path / "saved.npz"), np.load(tmp_path / "straight.npz")
    assert any(key.endswith(("_v", "_s")) for key in saved.files) or case == "gd"
    for form in ("keras", "weights", "checkpoint"):
        loaded, resumed = np.load(tmp_path / f"{form}.loaded.npz"), np.load(tmp_path / f"{form}.resumed.npz")
        assert sorted(loaded.files) == sorted(saved.files), form
        for key in saved.files:
            np.testing.assert_array_equal(loaded[key], saved[key], err_msg=f"{form}: {key} as loaded")
            np.testing.assert_array_equal(resumed[key], straight[key], err_msg=f"{form}: {key} after resuming")
        assert int(resumed[[k for k in resumed.files if k.endswith("iteration")][0]]) == 16
