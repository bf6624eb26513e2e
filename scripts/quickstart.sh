#!/usr/bin/env bash
# README's first set-up command: install k0spy into ./.venv and run the main job in the foreground,
# a controller with an embedded worker on a throw-away data dir. Runs as root on a fresh Debian machine.
#
# While the control plane is still being built (see the README's status table), it runs the parts that
# exist and says plainly what it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in python3 python3-venv; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .

data_dir=${K0SPY_DATA_DIR:-$(mktemp -d /tmp/k0spy-data.XXXXXX)}
run_dir=${K0SPY_RUN_DIR:-$data_dir/run}
etc_dir=${K0SPY_ETC_DIR:-$data_dir/etc}
echo "quickstart: data dir $data_dir, run dir $run_dir, config dir $etc_dir"
k0spy=(.venv/bin/k0spy --data-dir "$data_dir" --run-dir "$run_dir" --etc-dir "$etc_dir")

if "${k0spy[@]}" controller --help >/dev/null 2>&1; then
  exec "${k0spy[@]}" controller --single --enable-worker "$@"
fi

echo "quickstart: 'k0spy controller' is not part of this build yet; running what exists instead."
"${k0spy[@]}" version
echo "--- pre-flight probes (k0spy sysinfo)"
"${k0spy[@]}" sysinfo || echo "quickstart: some required pre-flight probes failed (see above)"
echo "--- default configuration, validated (k0spy config create | k0spy config validate --config -)"
.venv/bin/k0spy config create | .venv/bin/k0spy config validate --config - && echo "config: valid"
