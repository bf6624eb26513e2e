"""The ClusterConfig: k0s.yaml read safely, normalised, defaulted and validated as k0s does.

Kept import-free on purpose: `k0spy.config.model` imports pydantic, which cheap commands must not pay for.
"""
