"""Roles: which components a node runs, in which order, and the preparation before they start."""
