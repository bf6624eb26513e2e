"""Running k0spy as a system service: describe, render, install, start/stop, and reset a node."""
