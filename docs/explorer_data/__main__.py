"""python docs/explorer_data FOLDER [PANEL]: each panel's data into FOLDER/<panel>.js."""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
if os.environ["KERAS_BACKEND"] == "jax":
    os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 paths, as the reference's
# Run as a folder, its own directory is on the path: the package is
# imported from the one above it (docs/).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from explorer_data import main  # noqa: E402

main(sys.argv[1:])
