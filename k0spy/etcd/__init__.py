"""Talking to the etcd this controller runs: membership listing and removal."""
