"""The worker role's pure parts and the `k0spy worker` token handling."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from k0spy.cli import worker as cli
from k0spy.components.render import ControllerOptions
from k0spy.errors import K0spyError
from k0spy.paths import Paths
from k0spy.roles import worker as role
from k0spy.roles.controller import ControllerRequest
from k0spy.worker.bootstrap import kubelet_kubeconfig
from k0spy.worker.profile import WorkerProfile
from tests.support.config import load_text

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


# --- token sources --------------------------------------------------------------------------------------
def test_one_token_source_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("K0S_TOKEN", raising=False)
    cli.check_single_token_source("t", None)
    cli.check_single_token_source(None, None)
    with pytest.raises(K0spyError, match="you can only pass one token source"):
        cli.check_single_token_source("t", "/f")
    monkeypatch.setenv("K0S_TOKEN", "e")
    with pytest.raises(K0spyError, match="K0S_TOKEN environment variable"):
        cli.check_single_token_source(None, "/f")


def test_env_token_is_taken_out_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("K0S_TOKEN", "from-env")
    read = cli.token_reader(None, None)
    assert "K0S_TOKEN" not in os.environ
    assert read() == "from-env"


def test_token_file_is_read_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("K0S_TOKEN", raising=False)
    missing = cli.token_reader(None, str(tmp_path / "nope"))
    with pytest.raises(K0spyError, match=r'token file ".*nope" not found'):
        missing()
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(K0spyError, match="is empty"):
        cli.token_reader(None, str(tmp_path / "empty"))()
    (tmp_path / "t").write_text("tok\n")
    assert cli.token_reader(None, str(tmp_path / "t"))() == "tok\n"
    assert cli.token_reader(None, None)() is None


def test_positional_token_is_redacted_from_the_status_args() -> None:
    assert cli.redacted_argv(["worker", "SECRET", "--profile", "x"], "SECRET") == \
        ["worker", cli.REDACTED, "--profile", "x"]


# --- options, kubelet -----------------------------------------------------------------------------------
def test_bad_taint_is_refused_before_anything_starts() -> None:
    with pytest.raises(K0spyError, match="invalid taint effect"):
        role.WorkerOptions.from_cli(taints=("a=b:Sometimes",))


def test_node_name_labels_and_kubeconfig_of_a_pure_worker(paths: Paths) -> None:
    opts = role.WorkerOptions.from_cli(labels=("zone=a",),
                                       kubelet_extra_args="--hostname-override=Node-1 --v=3")
    req = role.WorkerRequest(paths, opts, hostname="ignored")
    kubelet = req.kubelet_options()
    assert kubelet.node_name == "node-1"
    assert kubelet.labels == {"zone": "a"} and kubelet.taints == ()
    assert kubelet.kubeconfig == paths.kubelet_kubeconfig


def controller_request(paths: Paths, **flags: bool) -> ControllerRequest:
    cfg = load_text("spec: {api: {address: 10.0.0.5, port: 7443}}").config
    opts, _ = ControllerOptions.from_cli(**flags)
    return ControllerRequest(cfg, paths, opts)


@pytest.mark.parametrize(("flags", "tainted"), [
    ({"enable_worker": True}, True),
    ({"enable_worker": True, "no_taints": True}, False),
    ({"enable_worker": True, "single": True}, False),
])
def test_embedded_worker_label_taint_and_direct_url(paths: Paths, flags: dict[str, bool],
                                                    tainted: bool) -> None:
    req = role.embedded_request(controller_request(paths, **flags))
    assert req.embedded is not None and req.embedded.api_url == "https://127.0.0.1:7443"
    kubelet = req.kubelet_options()
    assert kubelet.labels["node.k0sproject.io/role"] == "control-plane"
    assert (role.CONTROL_PLANE_TAINT in kubelet.taints) is tainted
    assert kubelet.kubeconfig == paths.kubelet_direct_kubeconfig
    assert req.embedded.pause_image == "quay.io/k0sproject/pause:3.10.2-0"


@pytest.mark.parametrize(("config", "extra", "url"), [
    ({}, {}, "http://127.0.0.1:10248/healthz"),
    ({"healthzPort": 20000, "healthzBindAddress": "0.0.0.0"}, {}, "http://127.0.0.1:20000/healthz"),
    ({"healthzPort": 20000}, {"--healthz-port": "20001"}, "http://127.0.0.1:20001/healthz"),
    ({"healthzBindAddress": "::1"}, {}, "http://[::1]:10248/healthz"),
])
def test_healthz_url(config: dict[str, object], extra: dict[str, str], url: str) -> None:
    assert role.healthz_url(config, extra) == url


def test_render_kubelet_writes_the_ca_from_its_kubeconfig_and_probes_healthz(paths: Paths) -> None:
    paths.data_dir.mkdir(parents=True)
    pem = paths.kubelet_cert_dir / "kubelet-client-current.pem"
    paths.kubelet_kubeconfig.write_text(kubelet_kubeconfig("https://10.0.0.5:6443", CA, pem))
    kubelet_json = '{"maxPods": 42, "healthzPort": 20002}'
    profile = WorkerProfile.from_data("default", {"kubeletConfiguration": kubelet_json})
    req = role.WorkerRequest(paths, role.WorkerOptions.from_cli(taints=("k=v:NoExecute",)), hostname="n1")
    spec = role.render_kubelet(req, profile, "/bin/kubelet")
    files = {f.path: f for f in spec.files}
    assert files[str(paths.kubelet_client_ca)].content.encode() == CA
    config = yaml.safe_load(files[str(paths.kubelet_config)].content)
    assert files[str(paths.kubelet_config)].mode == 0o600
    assert config["maxPods"] == 42
    assert config["authentication"]["x509"]["clientCAFile"] == str(paths.kubelet_client_ca)
    assert config["registerWithTaints"] == [{"key": "k", "value": "v", "effect": "NoExecute"}]
    assert spec.probe is not None and spec.probe.url == "http://127.0.0.1:20002/healthz"
    assert f"--kubeconfig={paths.kubelet_kubeconfig}" in spec.args
    assert "--hostname-override=n1" in spec.args
