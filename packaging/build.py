#!/usr/bin/env python3
"""Build k0spy bundles and the single-file artifact: `python packaging/build.py --help`.

Run with the k0spy venv's python from the repository root (the artifact copies the k0spy code and its
installed dependencies from that venv).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # k0spy_bundle
sys.path.insert(1, str(HERE.parent))  # k0spy, tests.doubles

from k0spy_bundle.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
