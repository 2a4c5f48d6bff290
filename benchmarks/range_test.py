"""What a learning-rate range test costs over the same number of plain
`fit` steps (`keras_optims.tuning.find_learning_rate`).

Both run `steps` steps of the same compiled model on the same data, in
interleaved rounds in one process, each after one warm-up (the range test
recompiles the step with its own schedule once per call; that is counted, as
a user pays it). Reported: medians over the rounds of seconds per call, and
their ratio.

    python benchmarks/range_test.py [--steps 128] [--rounds 15]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_optims  # noqa: E402
from keras_optims.tuning import find_learning_rate  # noqa: E402


def model_and_data(hidden, m=4096, n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, n)).astype("float32")
    y = (x[:, :1] * x[:, 1:2] > 0).astype("float32")
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((n,)), *(keras.layers.Dense(h, activation="relu") for h in hidden),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras_optims.Adam(1e-3), loss="binary_crossentropy")
    return model, x, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=128, help="a multiple of 64 (the steps of one epoch)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    if args.steps % 64:
        parser.error(f"--steps must be a multiple of 64. Received: --steps {args.steps}")
    print(f"backend {keras.backend.backend()}, {args.steps} steps, batches of 64, medians of {args.rounds} rounds")
    print("| model | fit (s) | range test (s) | range test / fit |")
    print("| --- | ---: | ---: | ---: |")
    for label, hidden in (("MLP 32-64-64-1", (64, 64)), ("MLP 32-512-512-1", (512, 512))):
        model, x, y = model_and_data(hidden)
        epochs = args.steps * 64 // len(x)

        def plain():
            model.fit(x, y, batch_size=64, epochs=epochs, steps_per_epoch=None, verbose=0,
                      callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: None)])

        plain_steps = args.steps

        def test():
            find_learning_rate(model, x, y, batch_size=64, steps=plain_steps, max_learning_rate=1e-2,
                               stop_factor=1e300, verbose=0)

        times = {"fit": [], "test": []}
        for run in (plain, test):
            run()
        for _ in range(args.rounds):
            for name, run in (("fit", plain), ("test", test)):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        fit_s, test_s = statistics.median(times["fit"]), statistics.median(times["test"])
        print(f"| {label} | {fit_s:.3f} | {test_s:.3f} | {test_s / fit_s:.3f} |")


if __name__ == "__main__":
    main()
