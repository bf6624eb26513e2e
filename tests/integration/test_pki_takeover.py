"""Taking over a PKI made by cfssl (the library k0s uses): CAs kept, k0s-issued leaves renewed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from k0spy.paths import Paths
from tests.support.pki import load_cert, make_pki, openssl


def cfssl_json(args: list[str], csr: dict[str, object], tmp: Path) -> dict[str, str]:
    path = tmp / "csr.json"
    path.write_text(json.dumps(csr))
    out = subprocess.run(["cfssl", *args, str(path)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_k0s_made_pki_is_taken_over(paths: Paths, tmp_path: Path) -> None:
    pki = paths.cert_dir
    pki.mkdir(parents=True)
    key = {"algo": "rsa", "size": 2048}
    ca = cfssl_json(["gencert", "-initca"], {"CN": "kubernetes-ca", "key": key}, tmp_path)
    (pki / "ca.crt").write_text(ca["cert"])
    (pki / "ca.key").write_text(ca["key"])
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"signing": {"default": {"expiry": "8760h", "usages": [
        "signing", "key encipherment", "server auth", "client auth"]}}}))
    csr = {"CN": "kubernetes", "names": [{"O": "kubernetes"}], "hosts": ["localhost"], "key": key}
    leaf = cfssl_json(["gencert", "-ca", str(pki / "ca.crt"), "-ca-key", str(pki / "ca.key"), "-config",
                       str(config)], csr, tmp_path)
    (pki / "server.crt").write_text(leaf["cert"])
    (pki / "server.key").write_text(leaf["key"])
    old_serial = load_cert(pki / "server.crt").serial_number

    result = make_pki(paths)

    assert result.kept_cas == ["ca"] and "server" in result.renewed
    assert (pki / "ca.crt").read_text() == ca["cert"] and (pki / "ca.key").read_text() == ca["key"]
    assert load_cert(pki / "server.crt").serial_number != old_serial
    verify = openssl("verify", "-CAfile", str(pki / "ca.crt"), str(pki / "server.crt"))
    assert verify.returncode == 0, verify.stdout + verify.stderr
