"""k0spy: a Python re-implementation of the k0s controller.

Kept import-free on purpose: `k0spy version` and `--help` must start in a few milliseconds.
"""

__version__ = "0.1.0"
