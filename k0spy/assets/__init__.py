"""Component binaries: reading the bundle k0spy carries and staging what a role needs into DATA/bin.

Components call `await k0spy.assets.stage.stage_binaries(paths, ["etcd"])` in their init() and run the
returned paths. This package module imports nothing, so that `k0spy version` can read the payload summary
from `k0spy.assets.payload` without pulling in asyncio and structlog.
"""
