"""What a course optimizer saves, and how older files are read.

Saved (`.keras` files, `save_weights`), on every backend: the optimizer's
variables created before the slots (``iteration``, ``learning_rate``, and
Keras's own: EMA averages, gradient accumulators), then one slot per model
variable in Keras's order, the slots of one variable next to each other
(``v``, ``s`` of the first variable, then of the second, …): the layout of
Keras's built-ins. It does not depend on how a backend keeps its slots in
memory, so a file saved under one backend loads under every other.

keras_optims 0.1.0 saved the layout TensorFlow keeps in memory: per slot
name, one flat buffer per dtype (the slots of the variables under `LARGE`
elements, one after the other, dtypes in order of first appearance), then
the slots of the larger variables. `slots_from_flat_layout` reads it.
"""

import numpy as np

LARGE = 2**18  # elements: from this size a variable's slots are not in a flat buffer


def shapes(values):
    return [tuple(np.shape(v)) for v in values]


def dtype_name(variable):
    import keras

    return keras.backend.standardize_dtype(variable.dtype)


def size_of(variable):
    """The number of elements of a variable (of fully defined shape)."""
    return int(np.prod([int(d) for d in variable.shape], dtype=np.int64))


def slot_shapes(variables, names):
    """The shapes of the saved slots: one per variable and name."""
    return [tuple(variable.shape) for variable in variables for _ in names]


def flat_layout(variables, own=None):
    """Where each variable's slot goes in the flat-buffer layout: a list of
    ``(dtype, offset)`` (None for a variable that has slots of its own:
    those of `LARGE` elements or more, or, when given, those for which
    ``own(index, variable)`` is true), and ``{dtype: buffer size}`` in order
    of first appearance."""
    own = own or (lambda index, variable: size_of(variable) >= LARGE)
    totals, places = {}, []
    for index, variable in enumerate(variables):
        if own(index, variable):
            places.append(None)
            continue
        dtype = dtype_name(variable)
        places.append((dtype, totals.get(dtype, 0)))
        totals[dtype] = totals.get(dtype, 0) + size_of(variable)
    return places, totals


def slots_from_flat_layout(values, variables, names):
    """The slots in the saved order (see the module docstring) from `values`
    in the flat-buffer layout, or None when their shapes are not that
    layout's for `variables`."""
    places, totals = flat_layout(variables)
    large = [v for v, place in zip(variables, places) if place is None]
    per_name = [(total,) for total in totals.values()] + [tuple(v.shape) for v in large]
    if shapes(values) != per_name * len(names):
        return None
    count = len(per_name)
    out = []
    for variable, place in zip(variables, places):
        for k in range(len(names)):
            group = values[k * count : (k + 1) * count]
            if place is None:
                out.append(np.asarray(group[len(totals) + large.index(variable)]))
            else:
                dtype, offset = place
                flat = np.asarray(group[list(totals).index(dtype)])
                out.append(flat[offset : offset + size_of(variable)].reshape(variable.shape))
    return out
