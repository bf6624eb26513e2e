"""The k0spy bundle builder: pinned components, downloads, the bundle ZIP and the single-file artifact.

Run it as `python packaging/build.py ...` (see `--help`). It lives under packaging/k0spy_bundle so that
it never shadows PyPI's `packaging` module, which pip and setuptools import.
"""
