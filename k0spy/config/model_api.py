"""spec.api: the kube-apiserver endpoint and the CA lifetimes (k0s pkg/apis/k0s/v1beta1/api.go, cert.go)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from k0spy.config.model_base import Duration, K0sModel, StrMap

CA_EXPIRES_AFTER = timedelta(hours=87600)
CERTIFICATES_EXPIRE_AFTER = timedelta(hours=8760)


class CA(K0sModel):
    """Lifetimes of the CA and of the certificates it signs."""

    k0s_always = frozenset({"expiresAfter", "certificatesExpireAfter"})

    expires_after: Duration = Field(CA_EXPIRES_AFTER, alias="expiresAfter")
    certificates_expire_after: Duration = Field(CERTIFICATES_EXPIRE_AFTER, alias="certificatesExpireAfter")


class APISpec(K0sModel):
    """Where kube-apiserver and the k0s join API listen and what their certificate covers."""

    k0s_custom_decoder = True

    address: str = ""
    only_bind_to_address: bool = Field(False, alias="onlyBindToAddress")
    external_address: str = Field("", alias="externalAddress")
    extra_args: StrMap = Field(default_factory=dict, alias="extraArgs")
    raw_args: list[str] = Field(default_factory=list, alias="rawArgs")
    k0s_api_port: int = Field(9443, alias="k0sApiPort")
    port: int = 6443
    sans: list[str] = Field(default_factory=list)
    ca: CA = Field(default_factory=CA)

    def external_host(self) -> str:
        """The host part of externalAddress (which may carry a port), as k0s's ExternalHost()."""
        from k0spy.config.address import split_host_port

        if self.external_address:
            host = split_host_port(self.external_address)[0]
            if host:
                return host
        return self.external_address
