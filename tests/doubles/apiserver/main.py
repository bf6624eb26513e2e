"""kube-apiserver double: flags and files checked as the real one does, then TLS REST backed by real etcd.

Storage is the etcd given by --etcd-servers (https with the --etcd-* files, or kine's `unix:` socket) via
etcd's JSON gateway.  Deviation: --tls-cert-file/--tls-private-key-file are required (the real server would
generate a self-signed pair in --cert-dir, outside the test's directories).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from ..etcdgw import EtcdGateway
from ..flagparse import ParsedArgs
from ..klog import Klog
from ..runner import KUBE_VERSION, Component, app_runner, start_site
from ..runner import main as run_main
from ..tlsfiles import (
    StartupError,
    check_cipher_suites,
    file_client_context,
    load_ca_bundle,
    load_key,
    load_pair,
    load_public_key,
    load_sni_cert_keys,
    read_file,
    server_context,
)
from . import egress
from .app import make_app
from .auth import Authenticator, load_token_file
from .defaults import ensure_system_namespaces
from .state import ApiState
from .store import Store

TLS_VERSIONS = {"VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"}
AUTHZ_MODES = {"AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node"}
YAML_FILE_FLAGS = (
    "encryption-provider-config",
    "admission-control-config-file",
    "audit-policy-file",
    "authentication-config",
    "authorization-config",
    "tracing-config-file",
    "audit-webhook-config-file",
    "authentication-token-webhook-config-file",
    "authorization-webhook-config-file",
)


@dataclass
class Prepared:
    args: ParsedArgs
    static_tokens: dict[str, Any]


def _validate_flags(args: ParsedArgs) -> list[str]:
    errors: list[str] = []
    if not args.get("etcd-servers"):
        errors.append("--etcd-servers must be specified")
    if not args.get("service-account-issuer"):
        errors.append("service-account-issuer is a required flag")
    if not args.get("service-account-signing-key-file") or not args.get("service-account-issuer"):
        errors.append("--service-account-signing-key-file and --service-account-issuer are required flags")
    if not args.get("tls-cert-file") or not args.get("tls-private-key-file"):
        errors.append("--tls-cert-file and --tls-private-key-file are required by the k0spy double")
    if args.get("tls-min-version", "VersionTLS12") not in TLS_VERSIONS:
        errors.append(f'unknown tls version "{args.get("tls-min-version")}"')
    try:
        check_cipher_suites(args.list("tls-cipher-suites"))
    except StartupError as err:
        errors.append(err.message)
    errors += [
        f'authorization-mode "{m}" is not a valid mode'
        for m in args.list("authorization-mode")
        if m not in AUTHZ_MODES
    ]
    for flag in ("advertise-address", "bind-address"):
        if args.get(flag):
            try:
                ipaddress.ip_address(args.get(flag))
            except ValueError:
                errors.append(
                    f'invalid argument "{args.get(flag)}" for "--{flag}" flag: failed to parse IP: '
                    f'"{args.get(flag)}"'
                )
    cidrs = args.list("service-cluster-ip-range")
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            errors.append(f"service-cluster-ip-range[0] is not a valid cidr: {cidr}")
    if len(cidrs) > 2:
        errors.append("--service-cluster-ip-range must not contain more than two entries")
    if not 0 <= args.int("secure-port", 6443) <= 65535:
        errors.append(
            f"--secure-port {args.int('secure-port')} must be between 0 and 65535, inclusive. 0 "
            "for turning off secure port"
        )
    return errors


def _check_files(args: ParsedArgs) -> dict[str, Any]:
    load_pair(args.get("tls-cert-file"), args.get("tls-private-key-file"))
    for ca in (
        "client-ca-file",
        "requestheader-client-ca-file",
        "kubelet-certificate-authority",
        "oidc-ca-file",
    ):
        if args.get(ca):
            load_ca_bundle(args.get(ca))
    for cert, key in (
        ("kubelet-client-certificate", "kubelet-client-key"),
        ("proxy-client-cert-file", "proxy-client-key-file"),
    ):
        if args.get(cert) or args.get(key):
            load_pair(args.get(cert), args.get(key))
    for public in args.every("service-account-key-file"):
        load_public_key(public)
    load_sni_cert_keys(args.every("tls-sni-cert-key"))
    for flag in ("authorization-policy-file", "allow-metric-labels-manifest"):
        if args.get(flag):
            read_file(args.get(flag))
    load_key(args.get("service-account-signing-key-file"))
    if any(s.startswith("https://") for s in args.list("etcd-servers")):
        for flag in ("etcd-cafile", "etcd-certfile", "etcd-keyfile"):
            if not args.get(flag):
                raise StartupError(f"--{flag} is required to talk to etcd over https by the k0spy double")
        load_ca_bundle(args.get("etcd-cafile"))
        load_pair(args.get("etcd-certfile"), args.get("etcd-keyfile"))
    if args.get("egress-selector-config-file"):
        egress.load(args.get("egress-selector-config-file"))
    for flag in YAML_FILE_FLAGS:
        if args.get(flag):
            _parse_yaml(args.get(flag))
    if args.get("token-auth-file"):
        return load_token_file(args.get("token-auth-file"), read_file(args.get("token-auth-file")))
    return {}


def _parse_yaml(path: str) -> None:
    import yaml

    try:
        yaml.safe_load(read_file(path))
    except yaml.YAMLError as err:
        raise StartupError(f"error loading {path}: {err}") from None


def prepare(args: ParsedArgs, log: Klog) -> Prepared:
    errors = _validate_flags(args)
    if errors:
        raise StartupError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    log.info("Version info", version=KUBE_VERSION)
    tokens = _check_files(args)
    return Prepared(args, tokens)


def _version() -> dict[str, Any]:
    return {
        "major": "1",
        "minor": "35",
        "emulationMajor": "1",
        "emulationMinor": "35",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "34",
        "gitVersion": KUBE_VERSION,
        "gitCommit": "k0spy-double",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


async def serve(prepared: Prepared, stop: asyncio.Event, log: Klog) -> None:
    args = prepared.args
    servers = args.list("etcd-servers")
    etcd_ssl = None
    if args.get("etcd-cafile"):
        etcd_ssl = file_client_context(
            args.get("etcd-cafile"), args.get("etcd-certfile"), args.get("etcd-keyfile")
        )
    gateway = EtcdGateway(servers, etcd_ssl)
    store = Store(gateway, args.get("etcd-prefix", "/registry"))
    authn = Authenticator(
        store,
        args.bool("enable-bootstrap-token-auth"),
        args.bool("anonymous-auth", True),
        prepared.static_tokens,
    )
    host = args.get("bind-address", "0.0.0.0")
    port = args.int("secure-port", 6443)
    advertise = f"{args.get('advertise-address') or socket.gethostname()}:{port}"
    state = ApiState(store, authn, log, _version(), advertise)
    ssl_ctx = server_context(
        args.get("tls-cert-file"),
        args.get("tls-private-key-file"),
        args.get("client-ca-file") or None,
        args.get("tls-min-version", "VersionTLS12"),
        args.list("tls-cipher-suites"),
    )
    runner = await app_runner(make_app(state))
    try:
        await start_site(runner, host, port, ssl_ctx)
        log.info("Serving securely on " + f"{host}:{port}")
        namespaces = asyncio.create_task(ensure_system_namespaces(state, stop))
        await stop.wait()
        log.info("Received SIGTERM or SIGINT signal, shutting down controller.")
        state.shutting_down = True
        namespaces.cancel()
        for task in list(state.watches):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await namespaces
    finally:
        await runner.cleanup()
        await gateway.close()


COMPONENT = Component("kube-apiserver", "server", prepare, serve)


def main(argv: list[str] | None = None) -> int:
    return run_main(COMPONENT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
