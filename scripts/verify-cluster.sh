#!/usr/bin/env bash
# Verifies a running fleet cluster: the earlier deployment's 7 checks (health, peers, heads, plan,
# agents, claim round trip, merge queue + leader), one line each; exits non-zero naming what
# failed. Needs only node (no curl/jq). Usage: scripts/verify-cluster.sh [options] URL...
# (scripts/verify-cluster.sh --help lists the options.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
js="$root/dist/scripts/verify-cluster.js"
if [ ! -f "$js" ]; then
  echo "verify-cluster: fleet is not built in $root (run npm install, or npm run build)" >&2
  exit 2
fi
exec node "$js" "$@"
