"""Kubeconfig rendering: the shape client-go writes, embedded data, names."""

from __future__ import annotations

import base64

import pytest
import yaml

from k0spy.pki.kubeconfig import kubeconfig_dict, render_kubeconfig


def test_component_kubeconfig_shape() -> None:
    doc = yaml.safe_load(render_kubeconfig("https://localhost:6443", b"CA", b"CERT", b"KEY"))
    assert doc["current-context"] == "Default"
    assert doc["clusters"] == [{"cluster": {"certificate-authority-data": base64.b64encode(b"CA").decode(),
                                            "server": "https://localhost:6443"}, "name": "local"}]
    assert doc["contexts"] == [{"context": {"cluster": "local", "user": "user"}, "name": "Default"}]
    user = doc["users"][0]
    assert user["name"] == "user"
    assert base64.b64decode(user["user"]["client-key-data"]) == b"KEY"
    assert (doc["kind"], doc["apiVersion"]) == ("Config", "v1")


def test_user_kubeconfig_names() -> None:
    doc = yaml.safe_load(render_kubeconfig("https://10.0.0.5:6443", b"CA", b"C", b"K", cluster="prod",
                                           context="prod", user="system:jane"))
    assert doc["contexts"][0] == {"context": {"cluster": "prod", "user": "system:jane"}, "name": "prod"}
    assert doc["users"][0]["name"] == "system:jane"


@pytest.mark.parametrize("name", ["jane", "system:jane", "yes", "null", "a b", "#x", "x: y", "ünïcode", "123",
                                  "'quoted'", "-dash", "[list]"])
def test_awkward_names_round_trip(name: str) -> None:
    doc = yaml.safe_load(render_kubeconfig("https://[fd00::1]:6443", b"CA", b"C", b"K", cluster=name,
                                           context=name, user=name))
    assert doc["contexts"][0] == {"context": {"cluster": name, "user": name}, "name": name}
    assert doc["users"][0]["name"] == name and doc["current-context"] == name
    assert doc["clusters"][0]["cluster"]["server"] == "https://[fd00::1]:6443"


def test_matches_the_yaml_library_rendering() -> None:
    args = ("https://localhost:6443", b"CA", b"CERT", b"KEY")
    assert yaml.safe_load(render_kubeconfig(*args)) == kubeconfig_dict(*args)
