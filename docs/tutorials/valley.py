# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Gradient descent, momentum, RMSProp and Adam on a long valley
#
# The course's picture: a cost that is much steeper in one direction than in
# the other,
#
# $$f(x, y) = 0.05\,x^2 + 2\,y^2,$$
#
# 40 times steeper across the valley ($y$) than along it ($x$). Gradient
# descent must take a learning rate small enough for the steep direction, and
# then zigzags across the valley while it creeps along it. Momentum averages
# the gradients: the zigzag's steps change sign and cancel, the steps along
# the valley add up. Each optimizer here is the real Keras optimizer, stepping
# a Keras variable with the gradient of $f$.

# %%
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 under JAX: before JAX is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_optims


def f(point):
    x, y = point
    return 0.05 * x**2 + 2.0 * y**2


def gradient(point):
    x, y = point
    return np.array([0.1 * x, 4.0 * y])


def walk(optimizer, steps=60, start=(-9.0, 1.8)):
    point = keras.Variable(np.array(start), dtype="float64")
    path = [np.array(start)]
    for _ in range(steps):
        optimizer.apply([keras.ops.convert_to_tensor(gradient(path[-1]))], [point])
        path.append(np.asarray(point.numpy()).copy())
    return np.array(path)


# %% [markdown]
# ## The same α for gradient descent and momentum
#
# Across the valley the gradient is $4y$, so one gradient-descent step
# multiplies $y$ by $1 - 4\alpha$: for $\alpha$ above 0.25 the sign flips every
# step (the zigzag), and above 0.5 the zigzag grows. At α = 0.49, close to that
# limit, both take the same learning rate; momentum has β = 0.9.

# %% [markdown]
# RMSProp and Adam take other learning rates, because in them α means
# something else: each divides a direction's gradient by the root of the
# average of its squares, so while the gradients are steady their step is
# about α in every direction, whatever the gradient's size. α is then a
# distance. RMSProp's α = 0.2 crosses the 9 units from the start to the
# minimum in about 45 of the 60 steps. Adam's α = 1.0 gets there in about ten;
# its average of the gradients (β₁ = 0.9) then carries it past the minimum,
# which the picture below shows.

# %%
alpha = 0.49
paths = {
    "GradientDescent": walk(keras_optims.GradientDescent(alpha)),
    "Momentum": walk(keras_optims.Momentum(alpha, beta=0.9)),
    "RMSProp": walk(keras_optims.RMSProp(0.2)),
    "Adam": walk(keras_optims.Adam(1.0)),
}
across = {name: float(np.abs(np.diff(path[:, 1])).sum()) for name, path in paths.items()}
final = {name: f(path[-1]) for name, path in paths.items()}
for name in paths:
    print(f"{name:<16} travelled across the valley {across[name]:7.2f}   final cost {final[name]:.2e}")

# %% [markdown]
# What the course says, measured: at the same α, momentum travels far less
# across the valley (Σ|Δy|) and ends lower than gradient descent.

# %%
assert across["Momentum"] < 0.25 * across["GradientDescent"]
assert final["Momentum"] < final["GradientDescent"]

# %%
xs, ys = np.meshgrid(np.linspace(-10, 2, 200), np.linspace(-2.5, 2.5, 200))
figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
left.contour(xs, ys, f((xs, ys)), levels=np.geomspace(0.01, 20, 15), colors="0.75", linewidths=0.8)
for name, path in paths.items():
    left.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1, label=name)
    right.semilogy([f(p) for p in path], label=name)
left.plot(0, 0, "k*", markersize=12)
left.set(title="paths from the same start", xlim=(-10, 2), ylim=(-2.5, 2.5))
right.set(title="cost per step", xlabel="step")
left.legend(fontsize=8)
plt.show()

# %% [markdown]
# *What to see: gradient descent (blue) crosses the valley on every step
# and after 60 steps still zigzags, with the highest cost of the four;
# momentum (orange) swings across a few times, slowly, and ends lower.
# RMSProp (green) drops to the valley floor and runs straight along it.
# Adam (red) overshoots the minimum (★), leaves the plot on the right and
# comes back. Right: the cost per step, on a log scale.*

# %% [markdown]
# ## Why: the averages
#
# RMSProp and Adam divide each direction by the root of the average of its
# squared gradients, so the steep and the flat direction take steps of the
# same size. With α = 0.49, gradient descent's $y$ shrinks by $|1 - 4\alpha| =
# 0.96$ per step; momentum's average of the alternating gradients is close to
# zero across the valley, while along it the average is the gradient itself.

# %%
y_gd = paths["GradientDescent"][:, 1]
assert np.all(np.sign(y_gd[1:-1]) != np.sign(y_gd[2:]))  # the zigzag: y changes sign every step
np.testing.assert_allclose(np.abs(y_gd[1:] / y_gd[:-1]), 0.96, rtol=1e-12)

# %% [markdown]
# ## RMSProp's floor, Adam's overshoot
#
# RMSProp's step does not shrink as it nears the minimum: there the gradient
# shrinks, and so does the root of the average of its squares, so the step
# stays about α long. It cannot settle closer than its step allows: across
# the valley it ends up jumping between $y = \pm\alpha/2$, where the cost is
# $2\,(\alpha/2)^2 = 0.02$ at α = 0.2, its floor at that learning rate.
# (Its first step is longer still, $\alpha/\sqrt{1-\beta} = 0.63$: $s$ starts
# at zero and RMSProp has no bias correction.) A smaller α lowers the floor;
# decay per epoch lowers it as training goes on ([Decay per
# epoch](decay.md)). Adam's first step is exactly α in each direction
# ($\hat v/\sqrt{\hat s} = dW/|dW|$ at $t = 1$); at α = 1 its momentum
# carries it to $x \approx 2.6$, past the minimum, before it turns back and
# settles, since its steps shrink with $\hat v$, the average of gradients that
# now change sign. 200 steps of each:

# %%
rmsprop, adam = walk(keras_optims.RMSProp(0.2), steps=200), walk(keras_optims.Adam(1.0), steps=200)
late = np.array([f(point) for point in rmsprop[150:]])
print(f"RMSProp, steps 150-200: cost {late.min():.3f} to {late.max():.3f}, "
      f"mean |Δy| {np.abs(np.diff(rmsprop[150:, 1])).mean():.3f}")
print(f"Adam: first step {np.round(adam[1] - adam[0], 6)}, furthest x {adam[:, 0].max():.2f}, "
      f"cost after 200 steps {f(adam[-1]):.1e}")
assert np.all((0.015 < late) & (late < 0.025))                       # the floor, 2·(α/2)² = 0.02
np.testing.assert_allclose(np.abs(np.diff(rmsprop[150:, 1])).mean(), 0.2, rtol=0.05)  # steps of about α
np.testing.assert_allclose(np.abs(adam[1] - adam[0]), 1.0, rtol=1e-6)  # exactly α, each direction
assert adam[:, 0].max() > 2 and f(adam[-1]) < 1e-6                    # past the minimum, then settled

# %% [markdown]
# The [Explorer](../explorer.md) draws these paths for every α on a log grid, every β
# and each optimizer, and overlays two of them: at α = 0.5, gradient descent bounces
# across the valley for ever while momentum moves along it.
