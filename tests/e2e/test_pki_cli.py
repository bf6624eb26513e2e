"""`k0spy kubeconfig admin|create` and `k0spy certificates check` as an operator runs them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from k0spy.paths import Paths
from k0spy.pki.usercert import create_user_kubeconfig
from tests.support.cli import run_k0spy
from tests.support.pki import make_pki, settings


def env(paths: Paths) -> dict[str, str]:
    return {**os.environ, "K0SPY_DATA_DIR": str(paths.data_dir), "K0SPY_RUN_DIR": str(paths.run_dir),
            "K0SPY_ETC_DIR": str(paths.etc_dir)}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "k0s.yaml"
    path.write_text("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata:\n  name: k0s\n"
                    "spec:\n  api:\n    address: 10.0.0.5\n    externalAddress: lb.example.com\n")
    return path


def client_cert(doc: dict[str, object]) -> x509.Certificate:
    users = doc["users"]
    assert isinstance(users, list)
    return x509.load_pem_x509_certificate(base64.b64decode(users[0]["user"]["client-certificate-data"]))


def test_kubeconfig_admin_before_init_says_what_to_do(paths: Paths, config_file: Path) -> None:
    result = run_k0spy(["kubeconfig", "admin", "-c", str(config_file)], env=env(paths))
    assert result.returncode == 1
    assert "admin credentials not found" in result.stderr and "Hint:" in result.stderr


def test_kubeconfig_admin_uses_the_external_address(paths: Paths, config_file: Path) -> None:
    make_pki(paths)
    result = run_k0spy(["kubeconfig", "admin", "-c", str(config_file)], env=env(paths))
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["clusters"][0]["cluster"]["server"] == "https://lb.example.com:6443"
    assert doc["current-context"] == "Default" and doc["users"][0]["name"] == "user"
    assert client_cert(doc).subject.rfc4514_string() == "CN=kubernetes-admin,O=system:masters"


def test_kubeconfig_create_signs_a_user_certificate(paths: Paths, config_file: Path) -> None:
    make_pki(paths)
    result = run_k0spy(["kubeconfig", "create", "jane", "--groups", "devs", "--context-name", "prod",
                        "--certificate-expires-after", "24h", "-c", str(config_file)], env=env(paths))
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["current-context"] == "prod"
    assert doc["contexts"][0]["context"] == {"cluster": "prod", "user": "jane"}
    cert = client_cert(doc)
    assert cert.subject.rfc4514_string() == "CN=jane,O=devs"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(hours=24)
    assert (paths.cert_dir / "jane.crt").read_bytes() == cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(("user", "message"), [
    ("", "the user name is empty"), ("../etc/passwd", "not a plain file name"),
    ("a/b", "not a plain file name"),
    (".hidden", "not a plain file name"), ("server", "name of a controller certificate"),
])
def test_kubeconfig_create_refuses_bad_user_names(paths: Paths, config_file: Path, user: str,
                                                  message: str) -> None:
    make_pki(paths)
    result = run_k0spy(["kubeconfig", "create", user, "-c", str(config_file)], env=env(paths))
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert sorted(p.name for p in paths.cert_dir.glob("*.crt")) == sorted(
        ["admin.crt", "apiserver-etcd-client.crt", "apiserver-kubelet-client.crt", "ca.crt", "ccm.crt",
         "front-proxy-ca.crt", "front-proxy-client.crt", "k0s-api.crt", "konnectivity.crt", "scheduler.crt",
         "server.crt"])


def test_certificates_check_on_a_fresh_pki(paths: Paths) -> None:
    make_pki(paths)
    result = run_k0spy(["certificates", "check"], env=env(paths))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["CERTIFICATE", "SUBJECT", "(CN/O)", "ISSUER", "SANS"]
    assert len(lines) == 1 + 18 and result.stderr == ""
    reports = json.loads(run_k0spy(["certificates", "check", "-o", "json"], env=env(paths)).stdout)
    server = next(r for r in reports if r["path"] == "pki/server.crt")
    assert server["renewed_on_start"] and server["chain_verified"] and server["key_matches"]
    assert "kubernetes.default.svc.cluster.local" in server["sans"] and 364 <= server["days_left"] <= 366
    assert not next(r for r in reports if r["path"] == "pki/ca.crt")["renewed_on_start"]


def test_certificates_check_warns_and_fails(paths: Paths) -> None:
    make_pki(paths)
    now = dt.datetime.now(dt.UTC)
    create_user_kubeconfig(paths, settings(), "soon", validity=dt.timedelta(days=10))
    create_user_kubeconfig(paths, settings(), "old", validity=dt.timedelta(hours=1),
                           now=now - dt.timedelta(days=1))
    result = run_k0spy(["certificates", "check"], env=env(paths))
    assert result.returncode == 1
    assert "Error: pki/old.crt: expired" in result.stderr
    assert "Warning: pki/soon.crt: expires in" in result.stderr and "does not renew it" in result.stderr
    (paths.cert_dir / "old.crt").unlink()
    assert run_k0spy(["certificates", "check"], env=env(paths)).returncode == 0


def test_certificates_check_fails_on_a_broken_chain(paths: Paths) -> None:
    make_pki(paths)
    (paths.cert_dir / "etcd" / "ca.crt").unlink()
    (paths.cert_dir / "etcd" / "ca.key").unlink()
    result = run_k0spy(["certificates", "check"], env=env(paths))
    assert result.returncode == 1
    assert "Error: pki/etcd/server.crt: chain does not verify" in result.stderr


def test_certificates_check_with_nothing_to_check(paths: Paths) -> None:
    result = run_k0spy(["certificates", "check"], env=env(paths))
    assert result.returncode == 1 and "No certificates found" in result.stderr
