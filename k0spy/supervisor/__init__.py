"""Process supervision: spawn one child, forward its output, restart it with backoff, stop it for good.

Pure policy lives in `state`, `backoff`, `env` and `exits`; `pidfile`, `output` and `process` do the I/O.
The supervisor knows nothing about Kubernetes: components (k0spy.components) describe what to run.
"""
