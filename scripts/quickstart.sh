#!/usr/bin/env bash
# README's first set-up command: install k0spy into ./.venv and run the main job in the foreground,
# a controller with an embedded worker on a throw-away data dir. Runs as root on a fresh Debian machine.
#
# Binaries: the pinned upstream releases when they can be downloaded and verified, otherwise the offline
# dev bundle (Debian's etcd, containerd and runc plus the test doubles of the components that cannot be
# downloaded here). The script says which one it uses, and so do `k0spy version` and the daemon's log.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in python3 python3-venv etcd-server containerd runc iptables; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "quickstart: installing ${need[*]}"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .

mkdir -p dist
if [ -z "${K0SPY_BUNDLE:-}" ]; then
  if .venv/bin/python packaging/build.py bundle --upstream --k0s-release -o dist/k0spy-bundle.zip \
       >/tmp/k0spy-quickstart-upstream.log 2>&1; then
    export K0SPY_BUNDLE=$PWD/dist/k0spy-bundle.zip
    echo "quickstart: using the pinned upstream release binaries ($K0SPY_BUNDLE)"
  else
    echo "quickstart: the upstream release binaries could not be fetched and verified" \
         "($(tail -n 1 /tmp/k0spy-quickstart-upstream.log))"
    .venv/bin/python packaging/build.py dev-bundle --no-artifact -o dist >/dev/null
    export K0SPY_BUNDLE=$PWD/dist/k0spy-dev-bundle-linux-$(dpkg --print-architecture).zip
    echo "quickstart: using the OFFLINE DEV BUNDLE ($K0SPY_BUNDLE): Debian etcd/containerd/runc + test doubles"
  fi
fi

data_dir=${K0SPY_DATA_DIR:-$(mktemp -d /tmp/k0spy-data.XXXXXX)}
chmod 755 "$data_dir"
run_dir=${K0SPY_RUN_DIR:-$data_dir/run}
etc_dir=${K0SPY_ETC_DIR:-$data_dir/etc}
echo "quickstart: data dir $data_dir, run dir $run_dir, config dir $etc_dir"
k0spy=(.venv/bin/k0spy --data-dir "$data_dir" --run-dir "$run_dir" --etc-dir "$etc_dir")
extra=()
if ! "${k0spy[@]}" sysinfo >/tmp/k0spy-quickstart-sysinfo.txt 2>&1; then
  echo "quickstart: this machine fails k0s's worker pre-flight checks (as k0s itself would refuse it):"
  grep -E "\((rejected|error)" /tmp/k0spy-quickstart-sysinfo.txt | sed 's/^/    /' || true
  echo "quickstart: continuing with --ignore-pre-flight-checks, since this is a throw-away demo node"
  extra+=(--ignore-pre-flight-checks)
fi
echo "quickstart: in another shell: .venv/bin/k0spy --data-dir $data_dir --run-dir $run_dir status components"
exec "${k0spy[@]}" controller --single --enable-worker "${extra[@]}" "$@"
