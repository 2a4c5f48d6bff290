"""The Explorer page's data, computed by the package: every path, cost and
average the page can show, on the grid of control values it offers.

    python docs/explorer_data FOLDER [PANEL]   (the docs build runs it: docs/hooks.py)

One module per panel, each with a `panel()` that returns its data:

| panel | module | what it runs |
| --- | --- | --- |
| averages | `averages` | the `EWMA` callback on a year of temperatures |
| paths | `paths` | each optimizer's `apply` on three surfaces |
| minibatch | `minibatch` | `model.fit` at each batch size (`problem`'s regression) |
| decay | `decay` | `model.fit` with each epoch schedule (the same problem) |
| range_test | `range_test` | `find_learning_rate` on the same problem |

`common` holds what they share (rounding for the page, the grid a loss is
sampled on, where a path stops); `problem` the training panels' data set,
cost and model. Each panel's data goes to a file of its own,
FOLDER/<panel>.js, which the page loads for that panel alone.

The page only selects and draws: nothing is computed in JavaScript. Values
are written with `common.DIGITS` significant digits (the page draws a few
hundred pixels wide); `tests/test_explorer.py` holds sampled settings of
every panel, before rounding, to the NumPy reference step by step.
"""

import importlib
import json
import os
import time

PANELS = ("averages", "paths", "minibatch", "decay", "range_test")


def panels():
    """Each panel's name and the function that computes its data."""
    return {name: importlib.import_module(f"explorer_data.{name}").panel for name in PANELS}


def write(folder, name, data):
    """explorer/<name>.js: the panel's data, which the page loads for that
    panel alone. Returns its size in bytes."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    script = f"(window.EXPLORER_DATA = window.EXPLORER_DATA || {{}})[{json.dumps(name)}] = {text};\n"
    with open(os.path.join(folder, f"{name}.js"), "w", encoding="utf-8") as f:
        f.write(script)
    return len(script.encode())


def main(argv):
    if not 1 <= len(argv) <= 2:
        raise SystemExit(f"usage: python docs/explorer_data FOLDER [PANEL]   (panels: {', '.join(PANELS)})")
    folder, chosen = argv[0], argv[1:]
    os.makedirs(folder, exist_ok=True)
    sizes = []
    for name, compute in panels().items():
        if chosen and name not in chosen:
            continue
        started = time.perf_counter()
        size = write(folder, name, compute())
        sizes.append(f"{name}.js {size / 1e3:.0f} kB in {time.perf_counter() - started:.0f} s")
    print(f"wrote {folder}: {', '.join(sizes)}")
