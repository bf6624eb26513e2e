"""Every path k0spy uses, derived once from the data dir, run dir and a few overrides.

This is k0s's CfgVars as a frozen dataclass: no other module joins data-dir paths by hand, so pointing a
test (or a second instance) at a temporary directory is a matter of building one `Paths`. The run dir
follows k0s's rule (`/run/k0s` as root, `DATA/run` otherwise) unless given explicitly, and `etc_dir`
(default `/etc/k0s`) holds the default config and the containerd config so that tests never touch `/etc`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("/var/lib/k0s")
DEFAULT_ROOT_RUN_DIR = Path("/run/k0s")
DEFAULT_ETC_DIR = Path("/etc/k0s")
KINE_SOCKET_NAME = "kine.sock:2379"


@dataclass(frozen=True)
class Paths:
    """Derived paths, all absolute. Build with `Paths.build`, never field by field."""

    data_dir: Path
    run_dir: Path
    etc_dir: Path
    kubelet_root_dir: Path
    status_socket: Path

    @classmethod
    def build(
        cls,
        data_dir: Path | str | None = None,
        *,
        run_dir: Path | str | None = None,
        etc_dir: Path | str | None = None,
        kubelet_root_dir: Path | str | None = None,
        status_socket: Path | str | None = None,
        euid: int | None = None,
    ) -> Paths:
        data = Path(os.path.abspath(data_dir or DEFAULT_DATA_DIR))
        if run_dir:
            run = Path(os.path.abspath(run_dir))
        else:
            run = DEFAULT_ROOT_RUN_DIR if (os.geteuid() if euid is None else euid) == 0 else data / "run"
        return cls(
            data_dir=data,
            run_dir=run,
            etc_dir=Path(os.path.abspath(etc_dir or DEFAULT_ETC_DIR)),
            kubelet_root_dir=Path(os.path.abspath(kubelet_root_dir or data / "kubelet")),
            status_socket=Path(os.path.abspath(status_socket)) if status_socket else run / "status.sock",
        )

    # --- DATA ---------------------------------------------------------------------------------------
    @property
    def bin_dir(self) -> Path:
        return self.data_dir / "bin"

    @property
    def cert_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def etcd_cert_dir(self) -> Path:
        return self.cert_dir / "etcd"

    @property
    def pki_spare_dir(self) -> Path:
        """Spare leaf keys generated while idle (k0spy only; 0700, never backed up)."""
        return self.cert_dir / ".spare"

    @property
    def etcd_data_dir(self) -> Path:
        return self.data_dir / "etcd"

    @property
    def etcd_joined_marker(self) -> Path:
        """Present once this member has data: k0s's "already joined" test."""
        return self.etcd_data_dir / "member" / "snap" / "db"

    @property
    def kine_db_dir(self) -> Path:
        return self.data_dir / "db"

    @property
    def kine_db_path(self) -> Path:
        return self.kine_db_dir / "state.db"

    @property
    def manifests_dir(self) -> Path:
        return self.data_dir / "manifests"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def helm_home(self) -> Path:
        return self.data_dir / "helmhome"

    @property
    def helm_repository_cache(self) -> Path:
        return self.helm_home / "cache"

    @property
    def helm_repository_config(self) -> Path:
        return self.helm_home / "repositories.yaml"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.cert_dir / "admin.conf"

    @property
    def konnectivity_kubeconfig(self) -> Path:
        return self.cert_dir / "konnectivity.conf"

    @property
    def egress_selector_config(self) -> Path:
        """kube-apiserver's EgressSelectorConfiguration (not the same file as `pki/konnectivity.conf`)."""
        return self.data_dir / "konnectivity.conf"

    @property
    def kubelet_kubeconfig(self) -> Path:
        return self.data_dir / "kubelet.conf"

    @property
    def kubelet_bootstrap_kubeconfig(self) -> Path:
        return self.data_dir / "kubelet-bootstrap.conf"

    @property
    def kubelet_cert_dir(self) -> Path:
        return self.kubelet_root_dir / "pki"

    @property
    def worker_profile_cache(self) -> Path:
        return self.data_dir / "worker-profile.yaml"

    @property
    def containerd_root(self) -> Path:
        return self.data_dir / "containerd"

    # --- RUN ----------------------------------------------------------------------------------------
    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    @property
    def runtime_config(self) -> Path:
        return self.run_dir / "k0s.yaml"

    @property
    def runtime_lock(self) -> Path:
        return self.run_dir / "k0s.yaml.lock"

    @property
    def kine_socket_dir(self) -> Path:
        return self.run_dir / "kine"

    @property
    def kine_socket(self) -> Path:
        return self.kine_socket_dir / KINE_SOCKET_NAME

    @property
    def konnectivity_socket_dir(self) -> Path:
        return self.run_dir / "konnectivity-server"

    @property
    def konnectivity_socket(self) -> Path:
        return self.konnectivity_socket_dir / "konnectivity-server.sock"

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def containerd_state(self) -> Path:
        return self.run_dir / "containerd"

    @property
    def kubelet_run_dir(self) -> Path:
        return self.run_dir / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.kubelet_run_dir / "config.yaml"

    @property
    def kubelet_client_ca(self) -> Path:
        return self.kubelet_run_dir / "ca.crt"

    @property
    def kubelet_direct_kubeconfig(self) -> Path:
        return self.run_dir / "kubelet-direct.conf"

    # --- /etc/k0s -----------------------------------------------------------------------------------
    @property
    def default_config(self) -> Path:
        return self.etc_dir / "k0s.yaml"

    @property
    def containerd_config(self) -> Path:
        return self.etc_dir / "containerd.toml"

    @property
    def containerd_dropin_dir(self) -> Path:
        return self.etc_dir / "containerd.d"

    def as_k0s_vars(self) -> dict[str, str]:
        """The `spec.k0sVars` block of the runtime config, with k0s's Go field names as keys."""
        return {
            "AdminKubeConfigPath": str(self.admin_kubeconfig),
            "BinDir": str(self.bin_dir),
            "CertRootDir": str(self.cert_dir),
            "DataDir": str(self.data_dir),
            "KubeletRootDir": str(self.kubelet_root_dir),
            "EtcdCertDir": str(self.etcd_cert_dir),
            "EtcdDataDir": str(self.etcd_data_dir),
            "KineSocketPath": str(self.kine_socket),
            "KonnectivitySocketDir": str(self.konnectivity_socket_dir),
            "KubeletAuthConfigPath": str(self.kubelet_kubeconfig),
            "ManifestsDir": str(self.manifests_dir),
            "RunDir": str(self.run_dir),
            "KonnectivityKubeConfigPath": str(self.konnectivity_kubeconfig),
            "OCIBundleDir": str(self.images_dir),
            "RuntimeConfigPath": str(self.runtime_config),
            "StatusSocketPath": str(self.status_socket),
            "HelmHome": str(self.helm_home),
            "HelmRepositoryCache": str(self.helm_repository_cache),
            "HelmRepositoryConfig": str(self.helm_repository_config),
        }
