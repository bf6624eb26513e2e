"""PKI benchmark: the full k0s inventory by k0spy vs an openssl shell script vs cfssl, cold and warm.

    .venv/bin/python benchmarks/pki_bench.py [--runs 5] [--write BENCHMARKS.md]

Cold: 3 CAs, 11 leaves, sa and etcd JWT key pairs, 4 kubeconfigs, in an empty dir. Warm: the restart
path, CAs kept, the 11 leaves re-keyed and re-signed, kubeconfigs rewritten. "Reserve full" does the same
with the spare-key reserve (`k0spy.pki.spare`) filled before the clock starts, as the daemon fills it
while idle after the previous start: the leaves take their keys from it. Every run starts after a sync, so
that no variant pays for the writeback of the one before. The peers do the same
inventory with the same subjects, SANs and usages, one tool call after another as an operator's script
would. k0spy is measured in-process (what the controller pays at start: no interpreter start-up) and as a
fresh `python -c` process (interpreter and imports included, the fair comparison with the CLIs). Rounds are
interleaved so that machine noise hits every variant alike. A micro section compares how to parallelise
key generation (threads vs processes).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from k0spy import log  # noqa: E402
from k0spy.paths import Paths  # noqa: E402
from k0spy.pki.ensure import ensure_pki  # noqa: E402
from k0spy.pki.keys import generate_key  # noqa: E402
from k0spy.pki.sans import build_san_list, system_host_addresses  # noqa: E402
from k0spy.pki.settings import PKISettings  # noqa: E402
from k0spy.pki.spare import SpareKeys, reserve_size  # noqa: E402

MARK_START, MARK_END = "<!-- pki_bench:start -->", "<!-- pki_bench:end -->"
SETTINGS = PKISettings(api_address="127.0.0.1", etcd_peer_address="127.0.0.1")

# name, CN, O, CA, SAN source (api | loopback | peer | "")
LEAVES = [
    ("front-proxy-client", "front-proxy-client", "front-proxy-client", "front-proxy-ca", ""),
    ("admin", "kubernetes-admin", "system:masters", "ca", ""),
    ("konnectivity", "kubernetes-konnectivity", "system:masters", "ca", ""),
    ("ccm", "system:kube-controller-manager", "system:kube-controller-manager", "ca", ""),
    ("scheduler", "system:kube-scheduler", "system:kube-scheduler", "ca", ""),
    ("apiserver-kubelet-client", "apiserver-kubelet-client", "system:masters", "ca", ""),
    ("server", "kubernetes", "kubernetes", "ca", "api"),
    ("k0s-api", "k0s-api", "kubernetes", "ca", "api"),
    ("apiserver-etcd-client", "apiserver-etcd-client", "apiserver-etcd-client", "etcd/ca", "loopback"),
    ("etcd/server", "etcd-server", "etcd-server", "etcd/ca", "loopback"),
    ("etcd/peer", "127.0.0.1", "etcd-peer", "etcd/ca", "peer"),
]
CAS = [("ca", "kubernetes-ca"), ("front-proxy-ca", "kubernetes-front-proxy-ca"), ("etcd/ca", "etcd-ca")]
KUBECONFIGS = ["admin", "konnectivity", "ccm", "scheduler"]


def hosts(source: str, api: list[str]) -> list[str]:
    return {"api": api, "loopback": ["127.0.0.1", "localhost"], "peer": ["127.0.0.1"], "": []}[source]


OPENSSL_FUNCS = r"""#!/bin/sh
# The inventory with the openssl CLI, as an operator would script it. $1 = dir, $2 = cold|warm
set -eu
cd "$1"; mkdir -p etcd
MODE=$2
ca() {
  [ "$MODE" = warm ] && return 0
  openssl genrsa -traditional -out "$1.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -out "$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign"
}
leaf() {  # name cn o ca sans
  openssl genrsa -traditional -out "$1.key" 2048 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
  } > "$1.ext"
  if [ -n "$5" ]; then echo "subjectAltName=$5" >> "$1.ext"; fi
  openssl req -new -key "$1.key" -subj "/O=$3/CN=$2" | \
    openssl x509 -req -CA "$4.crt" -CAkey "$4.key" -days 365 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm "$1.ext"
}
pair() {
  [ "$MODE" = warm ] && return 0
  openssl genrsa -traditional -out "$1.key" 2048 2>/dev/null
  openssl rsa -in "$1.key" -pubout -out "$1.pub" 2>/dev/null
}
kubeconfig() {
  cat > "$1.conf" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 ca.crt)
    server: https://localhost:6443
  name: local
contexts:
- context:
    cluster: local
    user: user
  name: Default
current-context: Default
kind: Config
preferences: {}
users:
- name: user
  user:
    client-certificate-data: $(base64 -w0 "$1.crt")
    client-key-data: $(base64 -w0 "$1.key")
EOF
}
"""

CFSSL_FUNCS = r"""#!/bin/sh
# The inventory with cfssl (what k0s links in). $1 = dir, $2 = cold|warm, $3 = dir of CSR/config JSON
set -eu
cd "$1"; mkdir -p etcd
MODE=$2; J=$3
ca() {
  [ "$MODE" = warm ] && return 0
  cfssl gencert -initca "$J/$2.json" 2>/dev/null | cfssljson -bare "$1"
}
leaf() {  # name csr-json ca
  cfssl gencert -ca "$3.pem" -ca-key "$3-key.pem" -config "$J/config.json" -profile kubernetes "$J/$2.json" \
    2>/dev/null | cfssljson -bare "$1"
}
pair() {
  [ "$MODE" = warm ] && return 0
  openssl genrsa -traditional -out "$1.key" 2048 2>/dev/null
  openssl rsa -in "$1.key" -pubout -out "$1.pub" 2>/dev/null
}
kubeconfig() {
  cat > "$1.conf" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 ca.pem)
    server: https://localhost:6443
  name: local
contexts:
- context:
    cluster: local
    user: user
  name: Default
current-context: Default
kind: Config
preferences: {}
users:
- name: user
  user:
    client-certificate-data: $(base64 -w0 "$1.pem")
    client-key-data: $(base64 -w0 "$1-key.pem")
EOF
}
"""


def openssl_script(api: list[str]) -> str:
    def san(source: str) -> str:
        return ",".join(("IP:" if h[0].isdigit() or ":" in h else "DNS:") + h for h in hosts(source, api))

    lines = [OPENSSL_FUNCS]
    lines += [f'ca {name} "{cn}"' for name, cn in CAS]
    lines += [f'leaf {n} "{cn}" "{o}" {ca} "{san(src)}"' for n, cn, o, ca, src in LEAVES]
    lines += ["pair sa", "pair etcd/jwt"]
    lines += [f"kubeconfig {name}" for name in KUBECONFIGS]
    return "\n".join(lines) + "\n"


def cfssl_script(api: list[str], json_dir: Path) -> str:
    import json

    json_dir.mkdir(parents=True, exist_ok=True)
    key = {"algo": "rsa", "size": 2048}
    for name, cn in CAS:
        csr = {"CN": cn, "key": key, "ca": {"expiry": "87600h"}}
        (json_dir / f"{name.replace('/', '_')}.json").write_text(json.dumps(csr))
    for name, cn, org, _ca, src in LEAVES:
        csr = {"CN": cn, "names": [{"O": org}], "hosts": hosts(src, api), "key": key}
        (json_dir / f"leaf_{name.replace('/', '_')}.json").write_text(json.dumps(csr))
    usages = ["signing", "key encipherment", "server auth", "client auth"]
    config = {"signing": {"default": {"expiry": "8760h"},
                          "profiles": {"kubernetes": {"usages": usages, "expiry": "8760h"}}}}
    (json_dir / "config.json").write_text(json.dumps(config))
    lines = [CFSSL_FUNCS]
    lines += [f"ca {name} {name.replace('/', '_')}" for name, _cn in CAS]
    lines += [f"leaf {n} leaf_{n.replace('/', '_')} {ca}" for n, _cn, _o, ca, _src in LEAVES]
    lines += ["pair sa", "pair etcd/jwt"]
    lines += [f"kubeconfig {name}" for name in KUBECONFIGS]
    return "\n".join(lines) + "\n"


def paths_for(directory: Path) -> Paths:
    return Paths.build(directory, run_dir=directory / "run", etc_dir=directory / "etc")


K0SPY_PROCESS = (
    "import sys\nfrom k0spy import log\nfrom k0spy.paths import Paths\n"
    "from k0spy.pki.ensure import ensure_pki\n"
    "log.configure('error')\n"
    "from k0spy.pki.settings import PKISettings\n"
    "d = sys.argv[1]\n"
    "ensure_pki(Paths.build(d, run_dir=d + '/run', etc_dir=d + '/etc'),"
    " PKISettings(api_address='127.0.0.1', etcd_peer_address='127.0.0.1'))\n"
)


RESERVE = "k0spy (in-process, reserve full)"


def run_variant(kind: str, directory: Path, mode: str, scripts: dict[str, Path], json_dir: Path) -> float:
    if kind == RESERVE:  # filled before the clock starts: the daemon does it while idle after a start
        SpareKeys(paths_for(directory).pki_spare_dir).refill(reserve_size(SETTINGS), workers=2)
    os.sync()  # every variant starts on a written-back disk: none pays for the writeback of the one before
    started = time.perf_counter()
    if kind == "k0spy (in-process)":
        ensure_pki(paths_for(directory), SETTINGS)
    elif kind == RESERVE:
        ensure_pki(paths_for(directory), SETTINGS, reserve=SpareKeys(paths_for(directory).pki_spare_dir))
    elif kind == "k0spy (1 thread)":
        ensure_pki(paths_for(directory), SETTINGS, workers=1)
    elif kind == "k0spy (process)":
        subprocess.run([sys.executable, "-c", K0SPY_PROCESS, str(directory)], check=True, cwd=REPO)
    elif kind == "openssl script":
        (directory / "pki").mkdir(parents=True, exist_ok=True)
        subprocess.run(["sh", str(scripts["openssl"]), str(directory / "pki"), mode], check=True)
    elif kind == "cfssl":
        (directory / "pki").mkdir(parents=True, exist_ok=True)
        subprocess.run(["sh", str(scripts["cfssl"]), str(directory / "pki"), mode, str(json_dir)], check=True)
    return time.perf_counter() - started


VARIANTS = ["k0spy (in-process)", RESERVE, "k0spy (process)", "k0spy (1 thread)", "openssl script", "cfssl"]


def measure(runs: int, work: Path) -> dict[str, dict[str, list[float]]]:
    api = build_san_list(SETTINGS, system_host_addresses)
    scripts = {"openssl": work / "openssl.sh", "cfssl": work / "cfssl.sh"}
    json_dir = work / "cfssl-json"
    scripts["openssl"].write_text(openssl_script(api))
    scripts["cfssl"].write_text(cfssl_script(api, json_dir))
    results: dict[str, dict[str, list[float]]] = {v: {"cold": [], "warm": []} for v in VARIANTS}
    for round_no in range(runs):
        for variant in VARIANTS:
            directory = work / f"{variant.split()[0]}-{len(variant)}-{round_no}"
            results[variant]["cold"].append(run_variant(variant, directory, "cold", scripts, json_dir))
            results[variant]["warm"].append(run_variant(variant, directory, "warm", scripts, json_dir))
            shutil.rmtree(directory)
    return results


def keygen_micro(runs: int) -> dict[str, float]:
    """11 keys (the warm path's work): one thread, two threads, two worker processes (fork)."""
    def threads(n: int) -> Callable[[], object]:
        return lambda: list(cf.ThreadPoolExecutor(n).map(lambda _: generate_key(), range(11)))

    def processes() -> object:
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_key_pem, range(11)))

    variants: dict[str, Callable[[], object]] = {"1 thread": threads(1), "2 threads": threads(2),
                                                 "2 processes (fork, pool start included)": processes}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, func in variants.items():
            started = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def _key_pem(_: int) -> bytes:
    from k0spy.pki.keys import private_pem

    return private_pem(generate_key())


def report(results: dict[str, dict[str, list[float]]], micro: dict[str, float], runs: int) -> str:
    med = {v: {m: statistics.median(results[v][m]) for m in ("cold", "warm")} for v in VARIANTS}
    best_peer = {m: min(med["openssl script"][m], med["cfssl"][m]) for m in ("cold", "warm")}
    cpus = len(os.sched_getaffinity(0))
    lines = [
        "## PKI generation (benchmarks/pki_bench.py)", "",
        f"{time.strftime('%Y-%m-%d')}, {cpus} cores, Python {sys.version.split()[0]}, "
        f"{_version(['openssl', 'version']).split(' (')[0]}, "
        f"cfssl {_version(['cfssl', 'version']).split()[1]}; "
        f"median of {runs} interleaved rounds. Cold = 3 CAs + 11 leaves + sa/jwt pairs + 4 kubeconfigs; "
        "warm = restart (11 leaves re-keyed and re-signed, kubeconfigs rewritten, CAs kept). "
        "Reserve full: the 11 leaf keys are taken from a spare-key reserve (`k0spy.pki.spare`) filled "
        "before the clock starts, as the daemon fills it while idle after the previous start. Every run "
        "starts after a `sync`.", "",
        "| variant | cold (ms) | warm (ms) | warm: faster peer / this |", "|---|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        ratio = best_peer["warm"] / med[variant]["warm"]
        lines.append(f"| {variant} | {med[variant]['cold'] * 1000:.0f} | {med[variant]['warm'] * 1000:.0f} "
                     f"| {ratio:.1f}x |")
    lines += ["", "Key generation alone, 11 RSA-2048 keys (median):", ""]
    lines += [f"- {name}: {value * 1000:.0f} ms" for name, value in micro.items()]
    lines += ["", "The openssl script and cfssl run one tool call after another (as an operator's script "
              "would); k0spy generates keys on a thread pool (cryptography releases the GIL) while the main "
              "thread signs and writes, every file fsynced and committed in pairs.", ""]
    return "\n".join(lines)


def _version(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.splitlines()[0].strip()


def write_section(path: Path, text: str) -> None:
    block = f"{MARK_START}\n{text}\n{MARK_END}\n"
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if MARK_START in current and MARK_END in current:
        head, rest = current.split(MARK_START, 1)
        current = head + block + rest.split(MARK_END, 1)[1].lstrip("\n")
    else:
        current = current.rstrip("\n") + "\n\n" + block
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", type=Path, help="update this file's pki_bench section")
    args = parser.parse_args()
    log.configure("error")
    with tempfile.TemporaryDirectory(prefix="pki-bench-") as tmp:
        results = measure(args.runs, Path(tmp))
    text = report(results, keygen_micro(args.runs), args.runs)
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
