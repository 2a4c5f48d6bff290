"""The whole verification suite as rows of a table.

Each row: case, steps, max abs err, max rel err, tolerance, status (PASS,
FAIL or SKIP), note. Controls pass when the check they exercise fails, which
proves the suite can catch that mistake.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np

import keras_optims
from keras_optims import compat
from keras_optims.verification import equivalences, faults, range_test, reference, registry, training
from keras_optims.verification.harness import Report, verify
from keras_optims.verification.tolerances import UNIT_ROUNDOFF

GRADIENT_CHECK_TOLERANCE = 1e-7
GRADIENT_CHECK_EPSILON = 1e-6  # see reference/gradient_check.py: sharper than 1e-7 in float64


@dataclasses.dataclass
class Row:
    section: str
    case: str
    steps: int
    max_abs_error: float
    max_rel_error: float
    tolerance: float
    status: str  # PASS, FAIL or SKIP
    note: str = ""
    identified: str = None  # a failed step comparison: the known form it computes (`identify`)

    @property
    def name(self):
        return f"{self.section}: {self.case}"


def _row(section, case, report, note="", expect_pass=True, by=None):
    """A row of the table. A control (`expect_pass=False`) passes when its
    report fails, and its note says where it was caught (`caught`); so does
    a check that fails. Where the report identified the form it computes
    (`identify`), the note adds that clause."""
    passed = report.passed if expect_pass else not report.passed
    if not expect_pass or not passed:
        note = note or caught(report, by)
    identification = getattr(report, "identification", None)
    if identification is not None:
        note = f"{note}; {identification.clause()}" if note else identification.clause()
    return Row(section, case, report.steps, report.max_abs_error, report.max_rel_error,
               report.tolerance, "PASS" if passed else "FAIL", note,
               identification.best if identification is not None else None)


def caught(report, by=None):
    """Where a control's report failed: "caught at step t: normwise relative
    error e > tolerance" at the first step past its tolerance, or, for a
    report of one comparison (`by` names it, e.g. "the gradient check's
    difference"), "caught by <by> e > tolerance"; "not caught" if it passed."""
    for step, (error, tolerance) in enumerate(zip(report.max_rel_errors, report.tolerances), start=1):
        if error > tolerance:
            if by is not None:
                return f"caught by {by} {error:.3g} > {tolerance:.3g}"
            return f"caught at step {step}: normwise relative error {error:.3g} > {tolerance:.3g}"
    return "not caught"


def optimizer_rows(steps, dtype, seed):
    # Each configuration as it runs by default, and on every other path it
    # can be forced onto: on TensorFlow the fused CPU kernel (fused=True,
    # where it can be built: the default for any but the smallest models,
    # and the check's variables are that small) and the XLA update
    # (fused=False: what runs on a GPU); on PyTorch in-place multi-tensor
    # ops (fused=False) instead of torch's fused SGD and Adam kernels.
    for case in registry.CASES:
        yield _row("optimizer", case.id, verify(case.make(), steps, dtype, seed, name=case.id))
    for fused, path in forced_paths():
        for case in registry.CASES:
            if fused and case.make()._updater.fused_refusal(case.make()._updater.rule):
                continue
            name = f"{case.id} (fused={fused}: {path})"
            yield _row("optimizer", name, verify(case.make(fused=fused), steps, dtype, seed, name=name))


def forced_paths():
    """[(fused, the path it forces)] on this backend besides the default:
    fused=True where it is a path of its own here (TensorFlow's kernel, if it
    can be built), fused=False where it is another path."""
    backend = keras.backend.backend()
    paths = []
    if backend == "tensorflow":
        from keras_optims import native

        if native.available():
            paths.append((True, "the fused CPU kernel"))
    other_path = compat.BACKENDS[backend].other_path
    if other_path:
        paths.append((False, other_path))
    return paths


def space_rows(steps, dtype, seed):
    """The drawn cases of `registry.SPACE_CASES`: every hyperparameter away
    from its default, scalar and empty variables, small and large gradients;
    on TensorFlow through the fused CPU kernel where it can be built (the
    path of every model but the smallest; the drawn variables are small
    enough that the default would take TensorFlow ops)."""
    kernel = [fused for fused, _ in forced_paths() if fused]
    for case in registry.SPACE_CASES:
        optimizer = case.make(fused=True) if kernel else case.make()
        yield _row("hyperparameter space", case.id,
                   verify(optimizer, steps, dtype, seed, name=case.id, **case.gradients))


def schedule_rows(steps, dtype, seed):
    spe = 7
    for name, make in registry.SCHEDULE_CASES.items():
        schedule = make(spe)
        at_step = registry.learning_rate_reference(schedule)
        # Ours compute in float64 like the reference: a few roundings of 2⁻⁵³.
        report = equivalences.schedule_report(name, schedule, at_step, steps, lambda step: 4 * UNIT_ROUNDOFF["float64"])
        yield _row("schedule", name, report)
        in_optimizer = verify(keras_optims.Momentum(schedule), steps, dtype, seed, name=name)
        yield _row("schedule in optimizer", f"momentum + {name}", in_optimizer)


def temperatures(days=365, seed=0):
    """A noisy seasonal series, like the course's daily temperatures."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    return 12 + 10 * np.sin(2 * np.pi * (t - 100) / 365) + 3 * rng.standard_normal(days)


def ewma_by_callback(series, beta, bias_correction, per_epoch=10):
    """Feeds `series` to the EWMA callback as Keras would log it (the running
    mean of each epoch of `per_epoch` equal batches); returns its averages."""
    callback = keras_optims.callbacks.EWMA("loss", beta=beta, bias_correction=bias_correction)
    callback.on_train_begin({})
    averages = []
    for start in range(0, len(series), per_epoch):
        callback.on_epoch_begin(start // per_epoch, {})
        chunk = series[start : start + per_epoch]
        for k in range(1, len(chunk) + 1):
            logs = {"loss": float(np.mean(chunk[:k]))}
            callback.on_train_batch_end(k - 1, logs)
            averages.append(logs["ewma_loss"])
    return np.array(averages)


def ewma_rows(steps, dtype, seed):
    """The EWMA callback against reference.ewma: the course's temperatures
    at three βs, with and without bias correction, and a constant series
    (which must stay constant once corrected)."""
    count = max(steps, 2)
    series = {"temperatures": temperatures(seed=seed)[:count], "constant 3.25": np.full(count, 3.25)}
    for label, values in series.items():
        for beta in (0.5, 0.9, 0.98):
            for corrected in (True, False):
                got = ewma_by_callback(values, beta, corrected)
                expected = reference.ewma(values, beta, bias_correction=corrected)
                if label.startswith("constant") and corrected:
                    expected = np.full(count, 3.25)  # the course's check, by hand
                errors = np.abs(got - expected)
                scale = np.maximum.accumulate(np.abs(values))
                # The callback recovers each value from running means (k·ulp of
                # the mean, k ≤ 10 per epoch) and divides by 1 − βᵗ: 100u
                # relative to the series' scale.
                report = Report("ewma", "float64", list(errors), list(errors / scale),
                                [100 * UNIT_ROUNDOFF["float64"]] * count)
                kind = "bias-corrected" if corrected else "uncorrected"
                yield _row("ewma", f"{label}, β={beta}, {kind}", report)


def range_test_rows(steps, dtype, seed):
    """The learning-rate range test (`keras_optims.tuning`): its α schedule
    at every step before, through and past the test; a whole test in `fit`
    on a linear model, float64, each step's loss and its bias-corrected
    average against `reference.range_test`; and two controls (a schedule a
    step late, an average without bias correction) that must be caught."""
    schedule, late = range_test.schedule_rows_data(max(steps, 2))
    yield _row("range test", "α_k = α_min·(α_max/α_min)^(k/(K−1)), RangeTestSchedule", schedule)
    reports = range_test.linear_reports()
    yield _row("range test", "α of each step, find_learning_rate", reports["rates"])
    yield _row("range test", "each step's loss, linear model, fit, float64", reports["losses"])
    yield _row("range test", "bias-corrected average of the losses (β = 0.9)", reports["average"])
    swapped = range_test.linear_reports(schedule=True)["losses"]
    yield _row("range test", "each step's loss, the optimizer's own α an epoch schedule", swapped)
    yield _row("control", "range test: α schedule one step late", late, expect_pass=False)
    yield _row("control", "range test: average without bias correction", reports["uncorrected"], expect_pass=False)


def training_rows(steps, dtype, seed):
    for case in training.TRAINING_CASES:
        report, ewma_report = training.run(case, seed)
        yield _row("training (fit, float64)", case.id, report)
        yield _row("training (fit, float64)", f"EWMA of the batch losses: {case.id}", ewma_report)


def gradient_check_rows(steps, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((4, 9))
    outputs = {
        "sigmoid": (rng.random((1, 9)) > 0.5).astype(float),
        "softmax": np.eye(3)[:, rng.integers(0, 3, 9)],
    }
    for hidden in ("relu", "tanh", "sigmoid"):
        for output, Y in outputs.items():
            network = reference.Network([4, 5, 3, Y.shape[0]], hidden, output, l2=0.5, seed=seed)
            differences = reference.gradient_check(
                lambda p: network.cost(X, Y, p), network.parameters, network.gradients(X, Y), GRADIENT_CHECK_EPSILON
            )
            layers = {k: v for k, v in differences.items() if k.startswith("layer")}
            worst = max(layers, key=layers.get)
            report = Report("gradcheck", "float64", [0.0], [layers[worst]], [GRADIENT_CHECK_TOLERANCE])
            yield _row("gradient check", f"{hidden} hidden, {output} output, L2", report, note=f"worst: {worst}")
    # Control: backprop that forgets the L2 term must be caught.
    network = reference.Network([4, 5, 3, 1], "tanh", "sigmoid", l2=0.5, seed=seed)
    without_l2 = reference.Network([4, 5, 3, 1], "tanh", "sigmoid", l2=0.0, seed=seed)
    Y = outputs["sigmoid"]
    difference = reference.gradient_check(
        lambda p: network.cost(X, Y, p), network.parameters, without_l2.gradients(X, Y), GRADIENT_CHECK_EPSILON
    )["all"]
    report = Report("gradcheck", "float64", [0.0], [difference], [GRADIENT_CHECK_TOLERANCE])
    yield _row("control", "gradient check catches backprop without the L2 term", report, expect_pass=False,
               by="the gradient check's difference")


def equivalence_rows(steps, dtype, seed):
    for equivalence in equivalences.EQUIVALENCES:
        reason = equivalences.unavailable(equivalence)
        if reason:
            yield Row("equivalence", equivalence.claim, 0, 0.0, 0.0, 0.0, "SKIP", reason)
            continue
        main, control = equivalence.run(dtype, steps)
        row = _row("equivalence", equivalence.claim, main)
        if control.passed:
            row.status, row.note = "FAIL", f"control ({equivalence.control}) was not caught"
        else:
            row.note = f"control ({equivalence.control}) {caught(control)}"
        yield row


def control_rows(steps, dtype, seed):
    for _, what, make, _ in faults.FAULTS:
        yield _row("control", f"verify() catches {what}", verify(make(), steps, dtype, seed), expect_pass=False)
    case = dataclasses.replace(
        training.TRAINING_CASES[0], id="Adam without bias correction",
        optimizer=lambda spe: faults.AdamWithoutBiasCorrection(registry.SCHEDULE_CASES["inverse-time"](spe)),
    )
    report, _ = training.run(case, seed)
    yield _row("control", "training check catches Adam without bias correction", report, expect_pass=False)


def minibatch_rows(steps, dtype, seed):
    """Keras's fit(x, y, batch_size=B, shuffle=True) cuts batches as the course
    does: a new permutation each epoch, ⌊m/B⌋ full batches, then m mod B.

    On TensorFlow, only without a global TensorFlow seed: after
    keras.utils.set_random_seed (measured with Keras 3.15) every epoch
    repeats the first epoch's order. The check therefore clears the global
    seed while it runs and restores it afterwards."""
    if keras.backend.backend() != "tensorflow":
        yield from _minibatch_rows(seed)
        return
    import tensorflow as tf
    from tensorflow.python.eager import context

    previous_seed = context.global_seed()
    tf.random.set_seed(None)
    try:
        yield from _minibatch_rows(seed)
    finally:
        tf.random.set_seed(previous_seed)


def _minibatch_rows(seed):
    m, B, epochs = 50, 16, 3
    seen = []

    class Record(keras.layers.Layer):
        def call(self, inputs, training=None):
            # Only training calls: building the model calls it too, with
            # training=False (symbolically under JAX, on placeholder batches
            # under PyTorch).
            if training:
                seen.append(np.asarray(keras.ops.convert_to_numpy(inputs[:, 0])).astype(int))
            return inputs[:, 1:]

    X = np.column_stack([np.arange(m), np.random.default_rng(seed).standard_normal((m, 2))]).astype("float32")
    model = keras.Sequential([keras.Input((3,)), Record(), keras.layers.Dense(1)])
    model.compile(optimizer=keras_optims.GradientDescent(0.01), loss="mse", run_eagerly=True)
    model.fit(X, np.zeros((m, 1), "float32"), batch_size=B, epochs=epochs, shuffle=True, verbose=0)
    per_epoch = len(reference.random_mini_batches(np.zeros((1, m)), np.zeros((1, m)), B))
    problems = []
    orders = []
    for e in range(epochs):
        batches = seen[e * per_epoch : (e + 1) * per_epoch]
        sizes = [len(b) for b in batches]
        expected_sizes = [B] * (m // B) + ([m % B] if m % B else [])
        if sizes != expected_sizes:
            problems.append(f"epoch {e}: sizes {sizes}")
        order = np.concatenate(batches)
        if sorted(order.tolist()) != list(range(m)):
            problems.append(f"epoch {e}: not a permutation")
        orders.append(order)
    if any(np.array_equal(orders[0], o) for o in orders[1:]):
        problems.append("the same order in two epochs")
    status = "FAIL" if problems or len(seen) != epochs * per_epoch else "PASS"
    yield Row("mini-batches", f"Keras fit(shuffle=True), m={m}, B={B}: permutation per epoch, last batch {m % B}",
              epochs * per_epoch, 0.0, 0.0, 0.0, status, "; ".join(problems))


SECTIONS = [
    ("optimizer", optimizer_rows),
    ("hyperparameter space", space_rows),
    ("schedule", schedule_rows),
    ("ewma", ewma_rows),
    ("range test", range_test_rows),
    ("training", training_rows),
    ("gradient check", gradient_check_rows),
    ("mini-batches", minibatch_rows),
    ("equivalence", equivalence_rows),
    ("control", control_rows),
]

# With processes=2, these run in a second Python process beside the others:
# the equivalences start the peer libraries (PyTorch, optax, tf_keras), and
# with the mini-batch check they take about as long as the rest does after
# the second process's own start-up.
BESIDE = ("mini-batches", "equivalence")
_BUILT_IN = dict(SECTIONS)


def default_processes(backend=None):
    """The processes `compat.BACKENDS` gives `backend` (default: Keras's)
    where at least two CPUs are available to this process, else 1.

    A second process pays for its start-up on TensorFlow and JAX (measured
    on 2 cores, float64, 100 steps: 26 s → 22 s and 30 s → 25 s); PyTorch's
    run is short, and a second start-up (PyTorch, Keras, and TensorFlow where
    Keras serializes a schedule) costs it more than it takes off (15 s → 20 s)."""
    processes = compat.BACKENDS[backend or keras.backend.backend()].suite_processes
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return processes if available >= processes else 1


def run(steps=100, dtype="float64", seed=0, only=None, processes=1):
    """Runs the sections (all, or those whose name contains `only`); with
    ``processes=2`` the `BESIDE` sections run in a second process (same
    backend and arguments) while this one runs the others.

    Returns (rows in `SECTIONS` order, seconds in all, {section: seconds}).
    """
    start = time.perf_counter()
    chosen = [(name, section) for name, section in SECTIONS if not only or only in name]
    beside = [name for name, section in chosen
              if processes > 1 and name in BESIDE and _BUILT_IN.get(name) is section]
    if len(beside) == len(chosen):
        beside = []  # nothing would run here: one process does it all
    worker = _Worker(beside, steps, dtype, seed) if beside else None
    rows, seconds = {}, {}
    try:
        for name, section in chosen:
            if name not in beside:
                rows[name], seconds[name] = _timed(section, steps, dtype, seed)
    except BaseException:
        if worker:
            worker.stop()
        raise
    if worker:
        for name, (section_rows, section_seconds) in worker.result().items():
            rows[name], seconds[name] = section_rows, section_seconds
    ordered = [row for name, _ in chosen for row in rows[name]]
    return ordered, time.perf_counter() - start, {name: seconds[name] for name, _ in chosen}


def _timed(section, steps, dtype, seed):
    start = time.perf_counter()
    rows = list(section(steps, dtype, seed))
    return rows, time.perf_counter() - start


class _Worker:
    """A second Python process running the sections `names` (`work`), with
    this process's Keras backend (and, under JAX, its 64-bit setting)."""

    def __init__(self, names, steps, dtype, seed):
        self.names = names
        self.folder = tempfile.mkdtemp(prefix="keras-optims-verification-")
        self.out = os.path.join(self.folder, "rows.json")
        self.log = open(os.path.join(self.folder, "stderr.txt"), "w+b")
        # The same keras_optims as this process's (a source tree on sys.path,
        # e.g. a scratch copy with a slip planted, comes first), on the same backend.
        root = os.path.dirname(os.path.dirname(os.path.abspath(keras_optims.__file__)))
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "PYTHONPATH": path}
        if keras.backend.backend() == "jax":
            import jax

            env["JAX_ENABLE_X64"] = "1" if jax.config.jax_enable_x64 else "0"
        code = f"from keras_optims.verification import suite; suite.work({names!r}, {steps!r}, {dtype!r}, {seed!r}, {self.out!r})"
        self.process = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.log)

    def result(self):
        """{section: (rows, seconds)}, once the process has finished; a
        RuntimeError with its last lines of stderr if it failed."""
        try:
            status = self.process.wait()
            if status != 0 or not os.path.exists(self.out):
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace")[-3000:]
                raise RuntimeError(f"the sections {', '.join(self.names)} failed in their process "
                                   f"(exit status {status}):\n{tail}")
            with open(self.out, encoding="utf-8") as f:
                done = json.load(f)
            return {name: ([Row(**row) for row in done[name]["rows"]], done[name]["seconds"]) for name in self.names}
        finally:
            self.close()

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.close()

    def close(self):
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def work(names, steps, dtype, seed, path):
    """The second process's part of `run`: runs the sections `names` and
    writes their rows and times to `path` as JSON."""
    done = {}
    for name in names:
        rows, seconds = _timed(_BUILT_IN[name], steps, dtype, seed)
        done[name] = {"rows": [dataclasses.asdict(row) for row in rows], "seconds": seconds}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(done, f)
