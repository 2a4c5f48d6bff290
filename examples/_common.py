"""What every example shares: its command line, the output folder, and a
headless matplotlib."""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def arguments(description, argv=None):
    """--quick (seconds instead of minutes) and --out DIR (default examples/out)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a short run, for a first look and for tests")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for the PNGs (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def saved(figure, path):
    """Saves `figure` to `path`, closes it and says where it went."""
    figure.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    print(f"wrote {path}")
    return path
