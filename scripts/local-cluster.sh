#!/usr/bin/env bash
# Starts N fleet nodes on 127.0.0.1 for trying things: node 1 first, the others bootstrapped
# from it. HTTP on 3000.., libp2p on 4001.. (override with FLEET_BASE_HTTP / FLEET_BASE_P2P).
# Data and logs under .fleet/local (FLEET_CLUSTER_DIR). Ctrl-C stops them all.
set -euo pipefail
n=${1:-3}
case "$n" in ''|*[!0-9]*|0) echo "usage: $0 [N]   (N = number of nodes, at least 1, default 3)" >&2; exit 2;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
entry="$root/dist/bundle/main.js"
[ -f "$entry" ] || { echo "fleet is not built: run npm install first" >&2; exit 1; }
dir=${FLEET_CLUSTER_DIR:-$root/.fleet/local}
http0=${FLEET_BASE_HTTP:-3000}
p2p0=${FLEET_BASE_P2P:-4001}
mkdir -p "$dir"
pids=()
cleanup() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

start_node() { # index, extra args...
  local i=$1; shift
  node "$entry" start --data "$dir/node$i" --http "127.0.0.1:$((http0 + i - 1))" \
    --listen "/ip4/127.0.0.1/tcp/$((p2p0 + i - 1))" "$@" >"$dir/node$i.out" 2>"$dir/node$i.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    grep -q '^http: ' "$dir/node$i.out" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "node $i failed to start:" >&2; tail -5 "$dir/node$i.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "node $i did not start within 10 s" >&2; exit 1
}

start_node 1
peer1=$(sed -n 's/^peer id: //p' "$dir/node1.out")
boot="/ip4/127.0.0.1/tcp/$p2p0/p2p/$peer1"
for i in $(seq 2 "$n"); do start_node "$i" --bootstrap "$boot"; done

echo "fleet: $n nodes running (logs in $dir)"
for i in $(seq 1 "$n"); do
  echo "  node $i  $(sed -n 's/^http: //p' "$dir/node$i.out")  $(sed -n 's/^peer id: //p' "$dir/node$i.out")"
done
echo "bootstrap address: $boot"
urls=$(for i in $(seq 1 "$n"); do printf ' %s' "$(sed -n 's/^http: //p' "$dir/node$i.out")"; done)
echo "check it: scripts/verify-cluster.sh$urls"
echo "try: curl -s 127.0.0.1:$http0/health ; Ctrl-C stops the cluster"
wait
