"""Benchmarks of ecmpush: `python -m bench` runs them all, `python -m bench <name>` one.

Each benchmark writes bench/results/<name>.json; docs/benchmarks.md explains the numbers.
The machine is shared and noisy, so every figure is the median of several repetitions and the
conclusions rest on ratios measured within one run, not on absolute times."""

import sys
from pathlib import Path

# The handlers import the shared package from the layer, as on Lambda (/opt/python).
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "shared")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
