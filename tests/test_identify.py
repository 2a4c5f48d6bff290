"""`identify` names the known form an optimizer computes: each form from its
own NumPy step and from a Keras optimizer computing it, on every backend;
nothing for a subject that is none of them; Keras's SGD with momentum under
each backend; clear errors; and failing reports that carry the clause."""

import functools
import logging

import numpy as np
import pytest

import keras
from keras import ops

from keras_optims.verification import check, faults, identify, suite, verify
from keras_optims.verification.reference import forms

# Hyperparameters at which no two forms coincide (and, on TensorFlow, the
# float64 cast of Keras's β through float32 would change the steps).
HYPERPARAMETERS = {
    "gradient_descent": {"learning_rate": 0.05},
    "momentum": {"learning_rate": 0.05, "beta": 0.9},
    "rmsprop": {"learning_rate": 0.01, "beta": 0.9, "epsilon": 1e-8},
    "adam": {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
}
COURSE = {"learning_rate": "lr", "beta": "beta", "beta_1": "beta1", "beta_2": "beta2", "epsilon": "eps"}
EVERY_FORM = [(form, label) for algorithm in forms.FORMS for form in forms.FORMS[algorithm] for label in form.variants]


def form_id(case):
    form, label = case
    return f"{form.algorithm}-{form.id}" + (f"-{label}" if label else "")


def numpy_step(form, label, hyperparameters):
    """The form's own step, its hyperparameters fixed: check's reference form."""
    course = {COURSE[k]: v for k, v in hyperparameters.items()}
    return functools.partial(form.step, **course, **form.variants[label])


@pytest.mark.once
@pytest.mark.parametrize("case", EVERY_FORM, ids=form_id)
def test_each_form_is_identified_from_its_own_numpy_step(case):
    form, label = case
    hyperparameters = HYPERPARAMETERS[form.algorithm]
    found = identify(numpy_step(form, label, hyperparameters), form.algorithm, **hyperparameters)
    assert found.best == form.id, found
    assert found.matches == (form.id,) and not found.float32_hyperparameters, found
    assert found.forms[0].id == form.id and found.forms[0].variant == label, found
    assert all(result.first_difference is not None for result in found.forms[1:]), found


class Written(keras.optimizers.Optimizer):
    """One known form written as a plain Keras optimizer, in keras.ops: the
    tests' stand-in for a user's port. Every constant becomes a tensor of the
    variable's dtype from a NumPy array (exact): a Python float multiplied
    into a float64 tensor goes through float32 under Keras's PyTorch backend
    (measured: 1.5e-7 off at step 2), and `ops.cast(β, "float64")` does on
    TensorFlow."""

    def __init__(self, form, learning_rate, beta=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, swap="", **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.form, self.beta, self.beta_1, self.beta_2, self.epsilon, self.swap = form, beta, beta_1, beta_2, epsilon, swap

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.vs = self.add_optimizer_variables(variables, "v")
        self.ss = self.add_optimizer_variables(variables, "s")

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        v, s, lr = self.vs[index], self.ss[index], ops.cast(learning_rate, variable.dtype)
        dtype = keras.backend.standardize_dtype(variable.dtype)
        c = lambda x: ops.convert_to_tensor(np.asarray(x, dtype))  # noqa: E731  (exact; see the class docstring)
        t = ops.cast(self.iterations + 1, dtype)
        power = lambda beta, extra=0: ops.power(c(beta), t + extra)  # noqa: E731
        g, (algorithm, form) = gradient, self.form.split(":")
        if algorithm == "gradient_descent":
            self.assign_sub(variable, lr * g)
        elif algorithm == "momentum":
            beta, rest = c(self.beta), c(1 - self.beta)
            new_v = {"keras": beta * v - lr * g, "torch": beta * v + g,
                     "swapped": rest * v + beta * g}.get(form, beta * v + rest * g)
            self.assign(v, new_v)
            if form == "keras":
                self.assign_add(variable, new_v)
            elif form == "bias-corrected":
                self.assign_sub(variable, lr * new_v / (1 - power(self.beta)))
            else:
                self.assign_sub(variable, lr * new_v)
        elif algorithm == "rmsprop":
            beta, rest, eps = c(self.beta), c(1 - self.beta), c(self.epsilon)
            new_s = rest * s + beta * g * g if form == "swapped" else beta * s + rest * g * g
            self.assign(s, new_s)
            denominator = ops.sqrt(new_s + eps) if form == "keras" else ops.sqrt(new_s) + eps
            self.assign_sub(variable, lr * g / denominator)
        else:
            b1, b2, eps = self.beta_1, self.beta_2, c(self.epsilon)
            w1 = 1 - b1 if self.swap in ("beta1", "both") else b1
            w2 = 1 - b2 if self.swap in ("beta2", "both") else b2
            new_v, new_s = c(w1) * v + c(1 - w1) * g, c(w2) * s + c(1 - w2) * g * g
            self.assign(v, new_v)
            self.assign(s, new_s)
            extra = 1 if form == "t-off-by-one" else 0
            v_hat, s_hat = new_v / (1 - power(b1, extra)), new_s / (1 - power(b2, extra))
            if form == "keras":
                step = lr * ops.sqrt(1 - power(b2)) / (1 - power(b1)) * new_v / (ops.sqrt(new_s) + eps)
            elif form == "epsilon-inside-root":
                step = lr * v_hat / ops.sqrt(s_hat + eps)
            elif form == "no-bias-correction":
                step = lr * new_v / (ops.sqrt(new_s) + eps)
            else:
                step = lr * v_hat / (ops.sqrt(s_hat) + eps)
            self.assign_sub(variable, step)

    def get_config(self):
        return {**super().get_config(), "form": self.form, "beta": self.beta, "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon, "swap": self.swap}


def written(form, label):
    arguments = {k: v for k, v in HYPERPARAMETERS[form.algorithm].items()}
    return Written(f"{form.algorithm}:{form.id}", swap=form.variants[label].get("swap", ""), **arguments)


@pytest.mark.parametrize("case", EVERY_FORM, ids=form_id)
def test_each_form_is_identified_from_a_keras_optimizer_computing_it(case):
    """The optimizer's own variables (v and s of each model variable's
    shape, one of them unused by some forms) are its state: every form's
    state must match one of them. Its hyperparameters come from its config."""
    form, label = case
    found = identify(written(form, label), form.algorithm)
    assert found.best == form.id, found
    assert found.forms[0].variant == label and not found.float32_hyperparameters, found


@pytest.mark.parametrize("optimizer, algorithm", [
    (lambda: keras.optimizers.SGD(0.05), "gradient_descent"),
    (lambda: keras.optimizers.RMSprop(0.01, rho=0.875), "rmsprop"),
    (lambda: keras.optimizers.Adam(0.01, beta_1=0.875, beta_2=1 - 2**-10), "adam"),
    (lambda: keras.optimizers.SGD(0.05, momentum=0.875), "momentum"),
], ids=["sgd", "rmsprop", "adam", "sgd-momentum"])
def test_kerass_builtins_are_its_forms(optimizer, algorithm):
    """At hyperparameters exact in float32 (no cast can change them), Keras's
    built-ins are the keras forms (gradient descent: the course's), on every
    backend; their names for β (rho, momentum) are read from the config."""
    found = identify(optimizer(), algorithm)
    assert found.best == ("course" if algorithm == "gradient_descent" else "keras"), found
    assert not found.float32_hyperparameters, found


def test_sgd_momentum_is_kerass_form_and_its_beta_is_float32_on_tensorflow():
    """Keras's SGD casts β = 0.9 with ops.cast(0.9, "float64"): through
    float32 on TensorFlow (0.8999999762), exactly under JAX and PyTorch."""
    found = identify(keras.optimizers.SGD(0.01, momentum=0.9), "momentum")
    assert found.best == "keras", found
    assert found.float32_hyperparameters == (keras.backend.backend() == "tensorflow"), found


def test_keras_momentum_and_torch_momentum_differ_only_in_their_state():
    """At a constant α, v_keras = −α·v_torch: W alike, the state tells them
    apart. Keras's SGD is identified as keras, not torch, though both forms'
    W match; a NumPy torch step as torch, not keras."""
    found = identify(keras.optimizers.SGD(0.05, momentum=0.875), "momentum")
    assert found.best == "keras", found
    assert found.result("torch").first_difference == 1, found
    torch_step = numpy_step(forms.FORMS["momentum"][3], "", HYPERPARAMETERS["momentum"])
    assert identify(torch_step, "momentum", **HYPERPARAMETERS["momentum"]).best == "torch"


@pytest.mark.once
@pytest.mark.parametrize("algorithm", list(forms.FORMS))
def test_a_subject_that_is_none_of_them_gives_none(algorithm):
    """The course's step with α × 1.1: every form differs from step 1."""
    hyperparameters = HYPERPARAMETERS[algorithm]
    wrong = dict(hyperparameters, learning_rate=hyperparameters["learning_rate"] * 1.1)
    found = identify(numpy_step(forms.FORMS[algorithm][0], "", wrong), algorithm, **hyperparameters)
    assert found.best is None and found.matches == (), found
    assert all(result.first_difference == 1 for result in found.forms), found
    assert found.clause().startswith("it computes none of the known forms of "), found.clause()


def test_a_keras_optimizer_that_is_none_of_them_gives_none():
    found = identify(Written("adam:course", 0.01), "adam", learning_rate=0.011)
    assert found.best is None and found.matches == (), found


@pytest.mark.once
def test_forms_that_coincide_are_all_named():
    """At β = 1/2, β and 1 − β are the same: the course's momentum and the
    swapped one coincide; best is None and both are matches."""
    hyperparameters = {"learning_rate": 0.05, "beta": 0.5}
    found = identify(numpy_step(forms.FORMS["momentum"][0], "", hyperparameters), "momentum", **hyperparameters)
    assert found.best is None and set(found.matches) == {"course", "swapped"}, found
    assert "which coincide for these hyperparameters" in found.clause()


@pytest.mark.once
def test_float32_hyperparameters_are_named():
    """A NumPy step computing with α and β rounded through float32."""
    hyperparameters = HYPERPARAMETERS["momentum"]
    rounded = {k: float(np.float32(v)) for k, v in hyperparameters.items()}
    found = identify(numpy_step(forms.FORMS["momentum"][0], "", rounded), "momentum", **hyperparameters)
    assert found.best == "course" and found.float32_hyperparameters, found
    assert "with its hyperparameters rounded through float32" in found.clause()


@pytest.mark.once
def test_the_table_names_every_form_with_its_formula():
    found = identify(numpy_step(forms.FORMS["adam"][1], "", HYPERPARAMETERS["adam"]), "adam", **HYPERPARAMETERS["adam"])
    text = str(found)
    assert text.splitlines()[0].endswith(f"{found.clause()}.")
    assert found.clause().startswith("it computes Adam's Keras form (epsilon hat) at every step, ")
    for form in forms.FORMS["adam"]:
        assert form.formula in text and form.id in text
    assert repr(found) == text


@pytest.mark.once
@pytest.mark.parametrize("call, error, words", [
    (lambda: identify(lambda W, dW, s, t: (W, s), "adagrad", learning_rate=0.1), ValueError,
     ["'gradient_descent', 'momentum', 'rmsprop', 'adam'", "adagrad"]),
    (lambda: identify(lambda W, dW, s, t: (W, s), "momentum", learning_rate=0.1), ValueError,
     ["`beta or rho or momentum`", "a NumPy step has no config"]),
    (lambda: identify(lambda W, dW, s, t: (W, s), "gradient_descent"), ValueError, ["`learning_rate`"]),
    (lambda: identify(lambda W, dW, s, t: (W, s), "gradient_descent", steps=0, learning_rate=0.1), ValueError,
     ["`steps`", "steps=0"]),
    (lambda: identify("adam", "adam"), TypeError, ["`subject`", "'adam'"]),
    (lambda: identify(keras.optimizers.Adam, "adam"), TypeError, ["`subject`"]),
    (lambda: identify(lambda W, dW, s, t: (W, s), "adam", learning_rate=0.1, beta=0.9), TypeError,
     ["'beta'", "learning_rate, beta_1, beta_2, epsilon"]),
    (lambda: identify(lambda W, dW, s, t: (W, s), "gradient_descent", learning_rate="fast"), ValueError,
     ["`learning_rate`", "'fast'"]),
    (lambda: identify(lambda W, dW, s, t: W, "gradient_descent", learning_rate=0.1), TypeError, ["(W, state)"]),
], ids=["algorithm", "function-without-beta", "function-without-alpha", "steps", "string", "class",
        "foreign-hyperparameter", "not-a-number", "wrong-return"])
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as raised:
        call()
    for word in words:
        assert word in str(raised.value), raised.value


def test_a_built_optimizer_is_refused():
    optimizer = keras.optimizers.Adam()
    optimizer.build([keras.Variable(np.zeros(3))])
    with pytest.raises(ValueError, match="must be a new optimizer"):
        identify(optimizer, "adam")


@pytest.mark.parametrize("fault", faults.FAULTS, ids=[f[0] for f in faults.FAULTS])
def test_each_negative_control_is_identified_as_the_form_planted(fault):
    """verify() fails on every control, and says which form it computes:
    the one planted (None for ε = 1e-7, a constant no form at the
    configured ε explains); the suite's row and its note say it too."""
    _, what, make, planted = fault
    report = verify(make(), steps=50)
    assert not report.passed and report.identified == planted, report
    assert report.identification.clause() in repr(report)
    row = suite._row("control", what, report, expect_pass=False)
    assert row.identified == planted and row.note.endswith(report.identification.clause()), row


def test_a_passing_report_identifies_nothing():
    report = verify(keras.optimizers.RMSprop(0.01))
    assert report.passed and report.identified is None and report.identification is None


def test_check_against_a_known_form_names_the_form_when_it_fails():
    """check() against a known form of reference.forms (a partial fixing its
    hyperparameters; α is the optimizer's) identifies what the optimizer
    computes instead; against a function of the user's own it does not."""
    course_adam = functools.partial(forms.adam_course, beta1=0.875, beta2=1 - 2**-10, eps=1e-7)
    keras_adam = lambda: keras.optimizers.Adam(0.01, beta_1=0.875, beta_2=1 - 2**-10)  # noqa: E731
    report = check(keras_adam(), course_adam, slots={"v": "_momentums", "s": "_velocities"}, steps=20)
    assert not report.passed and report.identified == "keras", report
    own = lambda W, dW, state, t, lr: course_adam(W, dW, state, t, lr=lr)  # noqa: E731
    report = check(keras_adam(), own, slots={"v": "_momentums", "s": "_velocities"}, steps=20)
    assert not report.passed and report.identification is None, report


def test_the_cli_row_markdown_and_junit_carry_the_clause():
    from keras_optims.verification import ci

    report = verify(faults.AdamEpsilonHat(0.01), steps=10)
    row = suite._row("optimizer", "adam", report)
    assert row.status == "FAIL" and "it computes Adam's Keras form (epsilon hat)" in row.note, row
    runs = [{"backend": keras.backend.backend(), "rows": [{**row.__dict__, "name": row.name}], "seconds": 1.0,
             "counts": {"PASS": 0, "FAIL": 1, "SKIP": 0}, "passed": False}]
    assert row.note in ci.markdown(runs).replace("\\|", "|")
    assert "it computes Adam's Keras form (epsilon hat)" in ci.junit_xml(runs)


@pytest.mark.tensorflow
def test_the_drivers_own_retracing_warning_is_dropped_and_a_users_is_not(caplog):
    """Six verify() runs each trace their own new step function: TensorFlow
    counts them as one function retraced and warns; that warning is dropped.
    A user's function retraced six times still warns."""
    import tensorflow as tf

    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for _ in range(6):
            assert verify(keras.optimizers.SGD(0.05), steps=2).passed
        assert not [r for r in caplog.records if "retracing" in r.getMessage()], caplog.text

        def users_own(x):
            return x + 1

        for n in range(1, 8):
            tf.function(users_own)(tf.zeros([n]))
        assert [r for r in caplog.records if "retracing" in r.getMessage() and "users_own" in r.getMessage()]
