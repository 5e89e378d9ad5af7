#!/usr/bin/env bash
# Installs a fleet node on a Debian/Ubuntu VM as a systemd service, from this checkout.
#
#   sudo scripts/install-node.sh [options]          (scripts/install-node.sh --help for options)
#
# What it does (each step only if needed, so running it again changes nothing, and running it
# from a newer checkout upgrades the node):
#   - checks node >= 20.19 and npm, systemd
#   - creates the system user "fleet" (no login shell) and the data dir /var/lib/fleet (0750)
#   - copies the checkout to /opt/fleet.new, runs npm ci (which builds) and npm prune, then swaps
#     it in as /opt/fleet (code owned by root, readable by fleet); --in-place uses the checkout as is
#   - copies the swarm key and API token to /etc/fleet (0640 root:fleet)
#   - writes /etc/fleet/fleet.env (FLEET_* settings; keys given as options are set, the rest of
#     an existing file is kept) and /etc/systemd/system/fleet.service (Restart=on-failure)
#   - enables the service and (re)starts it when something changed, waits for /health, and
#     prints the bootstrap address the other VMs use
# --dry-run prints every action instead of doing it (no root needed).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install-node.sh [options]
  --bootstrap ADDR      a peer to join through, repeatable (/ip4/IP/tcp/4001/p2p/ID or /dns4/NAME/...)
  --listen MULTIADDR    libp2p listen address (default for a new env file: /ip4/0.0.0.0/tcp/4001)
  --http HOST:PORT      HTTP API address (default for a new env file: 127.0.0.1:3000); not loopback
                        needs an API token (--api-token-file or --generate-token)
  --swarm-key FILE      the cluster's private-network key (fleet key swarm > swarm.key), copied
                        to /etc/fleet/swarm.key; the same file on every VM
  --api-token-file FILE HTTP API token, copied to /etc/fleet/api.token
  --generate-token      create /etc/fleet/api.token (fleet key token) if there is none
  --cluster NAME        cluster name (FLEET_CLUSTER)
  --agents SPEC         agents this node runs (FLEET_AGENTS)
  --repo PATH|URL       the git repository agents work on (FLEET_REPO)
  --executor CMD        the command that runs a task (FLEET_EXECUTOR; "demo" for the built-in one)
  --set KEY=VALUE       any other FLEET_* setting for the env file, repeatable
  --in-place            run from this checkout instead of copying it to --prefix
  --prefix DIR          install dir (default /opt/fleet)
  --data DIR            data dir (default /var/lib/fleet)
  --user NAME           service user (default fleet)
  --etc DIR             config dir (default /etc/fleet)
  --unit-dir DIR        systemd unit dir (default /etc/systemd/system)
  --no-start            install and enable, but do not start or restart
  --force               rebuild and restart even if nothing changed
  --dry-run             print what would be done, change nothing
  -h, --help            this text
EOF
}

die() { echo "install-node: $*" >&2; exit 1; }
usage_error() { echo "install-node: $*" >&2; echo "(see install-node.sh --help)" >&2; exit 2; }

src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/opt/fleet
data=/var/lib/fleet
user=fleet
etc=/etc/fleet
unit_dir=/etc/systemd/system
service=fleet
dry=0 in_place=0 start=1 force=0 gen_token=0 data_given=0
swarm_key_src='' token_src=''
bootstrap=()
declare -A set_keys=()
set_order=()

set_key() { # KEY VALUE: a setting for the env file
  case "$2" in *$'\n'*) usage_error "$1: the value must be one line";; esac
  [ -n "${set_keys[$1]+x}" ] || set_order+=("$1")
  set_keys[$1]=$2
}

need_arg() { if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi; }

while [ $# -gt 0 ]; do
  case "$1" in
    --bootstrap) need_arg "$@"; bootstrap+=("$2"); shift 2;;
    --listen) need_arg "$@"; set_key FLEET_LISTEN "$2"; shift 2;;
    --http) need_arg "$@"; set_key FLEET_HTTP "$2"; shift 2;;
    --swarm-key) need_arg "$@"; swarm_key_src=$2; shift 2;;
    --api-token-file) need_arg "$@"; token_src=$2; shift 2;;
    --generate-token) gen_token=1; shift;;
    --cluster) need_arg "$@"; set_key FLEET_CLUSTER "$2"; shift 2;;
    --agents) need_arg "$@"; set_key FLEET_AGENTS "$2"; shift 2;;
    --repo) need_arg "$@"; set_key FLEET_REPO "$2"; shift 2;;
    --executor) need_arg "$@"; set_key FLEET_EXECUTOR "$2"; shift 2;;
    --set)
      need_arg "$@"
      [[ "$2" =~ ^FLEET_[A-Z0-9_]+= ]] || usage_error "--set: \"$2\" is not FLEET_NAME=VALUE"
      set_key "${2%%=*}" "${2#*=}"; shift 2;;
    --in-place) in_place=1; shift;;
    --prefix) need_arg "$@"; prefix=$2; shift 2;;
    --data) need_arg "$@"; data=$2; data_given=1; shift 2;;
    --user) need_arg "$@"; user=$2; shift 2;;
    --etc) need_arg "$@"; etc=$2; shift 2;;
    --unit-dir) need_arg "$@"; unit_dir=$2; shift 2;;
    --no-start) start=0; shift;;
    --force) force=1; shift;;
    --dry-run) dry=1; shift;;
    -h|--help) usage; exit 0;;
    *) usage_error "unknown option \"$1\"";;
  esac
done

for d in "$prefix" "$data" "$etc" "$unit_dir"; do
  case "$d" in /*) ;; *) usage_error "\"$d\" must be an absolute path";; esac
  [ "$d" != / ] || usage_error "refusing to use / as a directory"
done
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || usage_error "--user: \"$user\" is not a valid user name"
[ -z "$swarm_key_src" ] || [ -r "$swarm_key_src" ] || usage_error "--swarm-key: cannot read $swarm_key_src"
[ -z "$token_src" ] || [ -r "$token_src" ] || usage_error "--api-token-file: cannot read $token_src"
grep -qs '"name": "fleet"' "$src/package.json" || die "$src is not a fleet checkout"
[ ${#bootstrap[@]} -eq 0 ] || set_key FLEET_BOOTSTRAP "$(IFS=,; echo "${bootstrap[*]}")"
[ "$in_place" = 0 ] || prefix=$src
env_file=$etc/fleet.env
unit_file=$unit_dir/$service.service
# A setting of the existing env file (unquoted), or nothing.
env_get() { [ -f "$env_file" ] && sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$env_file" | tail -1; }
# The data dir: --data, else what the env file says (it may have been edited), else the default.
if [ "$data_given" = 0 ] && [ -n "$(env_get FLEET_DATA)" ]; then data=$(env_get FLEET_DATA); fi
case "$data" in /*) ;; *) usage_error "FLEET_DATA \"$data\" must be an absolute path";; esac
set_key FLEET_DATA "$data"

# ---- actions: run, or print under --dry-run ----
say() { echo "install-node: $*"; }
run() {
  if [ "$dry" = 1 ]; then printf '+'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}
run_sh() { # a shell command line, shown as written
  if [ "$dry" = 1 ]; then echo "+ $1"; else sh -c "$1"; fi
}
# put_file PATH MODE OWNER:GROUP [secret] < content: writes only if the content or mode differs;
# returns 0 if it changed. A dry run shows the content, except a secret's.
put_file() {
  local path=$1 mode=$2 owner=$3 secret=${4:-} tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path" && [ "$(stat -c '%a %U:%G' "$path")" = "${mode#0} $owner" ]; then
    rm -f "$tmp"; return 1
  fi
  if [ "$dry" = 1 ]; then
    if [ -n "$secret" ]; then echo "+ write $path (mode $mode, owner $owner; secret, not shown)"
    else echo "+ write $path (mode $mode, owner $owner):"; sed 's/^/|   /' "$tmp"; fi
    rm -f "$tmp"
  else
    install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$tmp" "$path"; rm -f "$tmp"
  fi
  return 0
}

# ---- preflight ----
node_bin=$(command -v node || true)
[ -n "$node_bin" ] || die "node is not installed: install Node.js >= 20.19 (e.g. from https://deb.nodesource.com) and run again"
node_bin=$(readlink -f "$node_bin")
"$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "node $("$node_bin" --version) is too old: fleet needs >= 20.19"
command -v npm >/dev/null || die "npm is not installed (it comes with Node.js)"
if [ "$dry" = 0 ]; then
  [ "$(id -u)" = 0 ] || die "run as root (sudo), or try --dry-run"
  command -v systemctl >/dev/null || die "systemd (systemctl) is required"
fi
http=${set_keys[FLEET_HTTP]:-$(env_get FLEET_HTTP || true)}
http=${http:-127.0.0.1:3000}
case "${http%:*}" in
  127.*|localhost|'[::1]') ;;
  *) if [ -z "$token_src" ] && [ "$gen_token" = 0 ] && [ ! -f "$etc/api.token" ]; then
       die "--http $http is not loopback, so the API needs a token: add --generate-token or --api-token-file FILE"
     fi;;
esac

# ---- user and directories ----
if getent passwd "$user" >/dev/null; then
  say "user $user exists"
else
  run useradd --system --user-group --home-dir "$data" --no-create-home --shell /usr/sbin/nologin "$user"
fi
if [ ! -d "$data" ] || [ "$(stat -c '%U %a' "$data")" != "$user 750" ]; then run install -d -m 0750 -o "$user" -g "$user" "$data"; fi
[ -d "$etc" ] || run install -d -m 0750 -o root -g "$user" "$etc"

# ---- code ----
stamp_of() { # a digest of the source tree (without build output and dependencies)
  (cd "$1" && find . \( -name node_modules -o -name dist -o -name .git -o -name .fleet -o -name scratch \) -prune -o -type f -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}
code_changed=0
if [ "$in_place" = 1 ]; then
  if [ ! -f "$src/dist/bundle/main.js" ] || [ "$force" = 1 ]; then
    run_sh "cd $(printf %q "$src") && npm ci --no-audit --no-fund"
    code_changed=1
  fi
else
  stamp=$(stamp_of "$src")
  if [ "$force" = 0 ] && [ -f "$prefix/.fleet-install" ] && [ "$(cat "$prefix/.fleet-install")" = "$stamp" ]; then
    say "$prefix is up to date ($stamp)"
  else
    stage=$prefix.new
    run rm -rf "$stage"
    run install -d -m 0755 "$stage"
    run_sh "cd $(printf %q "$src") && tar --exclude=./node_modules --exclude=./dist --exclude=./.git --exclude=./.fleet --exclude=./scratch -cf - . | tar -C $(printf %q "$stage") -xf -"
    # npm ci installs exactly the lockfile and builds (prepare); prune drops the compiler and test tools.
    run_sh "cd $(printf %q "$stage") && npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund"
    if [ "$dry" = 1 ]; then echo "+ echo $stamp > $stage/.fleet-install"; else echo "$stamp" >"$stage/.fleet-install"; fi
    run chown -R root:root "$stage"
    run chmod -R u=rwX,go=rX "$stage"
    if [ -e "$prefix" ]; then
      run rm -rf "$prefix.old"
      run mv "$prefix" "$prefix.old"
    fi
    run mv "$stage" "$prefix"
    run rm -rf "$prefix.old"
    code_changed=1
  fi
fi
entry=$prefix/dist/bundle/main.js

# Validate bootstrap addresses with fleet's own parser before anything refers to them.
if [ -n "${set_keys[FLEET_BOOTSTRAP]:-}" ]; then
  parser=$prefix/dist/bootstrap/peers.js
  [ -f "$parser" ] || parser=$src/dist/bootstrap/peers.js
  if [ -f "$parser" ]; then
    "$node_bin" --input-type=module -e 'const m = await import(process.argv[1]); try { m.parseBootstrapList(process.argv[2], "--bootstrap") } catch (e) { console.error("install-node: " + e.message); process.exit(2) }' \
      "$parser" "${set_keys[FLEET_BOOTSTRAP]}" || exit 2
  fi
fi

# ---- secrets ----
config_changed=0
if [ -n "$swarm_key_src" ]; then
  put_file "$etc/swarm.key" 0640 "root:$user" secret <"$swarm_key_src" && config_changed=1
fi
if [ -n "$token_src" ]; then
  put_file "$etc/api.token" 0640 "root:$user" secret <"$token_src" && config_changed=1
elif [ "$gen_token" = 1 ] && [ ! -f "$etc/api.token" ]; then
  if [ "$dry" = 1 ]; then echo "+ $node_bin $entry key token > $etc/api.token (mode 0640, owner root:$user)"
  else "$node_bin" "$entry" key token | put_file "$etc/api.token" 0640 "root:$user" secret || true; fi
  config_changed=1
fi
{ [ -n "$swarm_key_src" ] || [ -f "$etc/swarm.key" ]; } && set_key FLEET_SWARM_KEY "$etc/swarm.key"
{ [ -n "$token_src" ] || [ "$gen_token" = 1 ] || [ -f "$etc/api.token" ]; } && set_key FLEET_API_TOKEN_FILE "$etc/api.token"

# ---- environment file: keys given are set, everything else in an existing file is kept ----
quote() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "$v"; }
tmp_env=$(mktemp)
{
  if [ -f "$env_file" ]; then
    cat "$env_file"
  else
    echo "# fleet node settings (systemd EnvironmentFile; see fleet start --help for every FLEET_* option)."
    echo "# Edit, then: systemctl restart $service"
    [ -n "${set_keys[FLEET_LISTEN]+x}" ] || echo 'FLEET_LISTEN="/ip4/0.0.0.0/tcp/4001"'
    [ -n "${set_keys[FLEET_HTTP]+x}" ] || echo 'FLEET_HTTP="127.0.0.1:3000"'
  fi
} >"$tmp_env"
for k in "${set_order[@]}"; do
  line="$k=$(quote "${set_keys[$k]}")"
  if grep -q "^$k=" "$tmp_env"; then
    awk -v k="$k" -v line="$line" 'index($0, k "=") == 1 { print line; next } { print }' "$tmp_env" >"$tmp_env.x" && mv "$tmp_env.x" "$tmp_env"
  else
    echo "$line" >>"$tmp_env"
  fi
done
put_file "$env_file" 0640 "root:$user" <"$tmp_env" && config_changed=1
rm -f "$tmp_env"

# ---- systemd unit ----
put_file "$unit_file" 0644 root:root <<EOF && { config_changed=1; run systemctl daemon-reload; }
# Installed by fleet's scripts/install-node.sh; settings live in $env_file.
[Unit]
Description=fleet node (peer-to-peer orchestration for coding agents)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$user
Group=$user
EnvironmentFile=$env_file
WorkingDirectory=$data
# Memory (README, Performance): a 4 MB young generation (V8 grows it to 16 MB in a burst, such as
# an import, and keeps it) and two malloc arenas rather than one per thread: RSS at 10,000 tasks
# ~210 MB rather than ~250, CPU per write and import times unchanged (bench:sync, bench:scale).
Environment=MALLOC_ARENA_MAX=2
ExecStart=$node_bin --max-semi-space-size=4 $entry start
# SIGTERM flushes the replica to disk; give it time before SIGKILL.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
NoNewPrivileges=true
ProtectSystem=full
PrivateTmp=true

[Install]
WantedBy=multi-user.target
EOF

# ---- enable and (re)start ----
if [ "$dry" = 0 ] && ! runuser -u "$user" -- test -r "$entry"; then
  die "$user cannot read $entry (is the checkout under a private home directory? install without --in-place)"
fi
run systemctl enable "$service" --quiet
if [ "$start" = 0 ]; then
  say "installed; not started (--no-start): systemctl start $service"
  exit 0
fi
active=0
[ "$dry" = 1 ] || ! systemctl is-active --quiet "$service" || active=1
if [ "$active" = 0 ] || [ "$code_changed" = 1 ] || [ "$config_changed" = 1 ] || [ "$force" = 1 ]; then
  run systemctl restart "$service"
else
  say "$service is running and nothing changed"
fi
[ "$dry" = 0 ] || { say "dry run: nothing was changed"; exit 0; }

url="http://$http"
case "$http" in 0.0.0.0:*) url="http://127.0.0.1:${http##*:}";; esac
if ! peer_id=$("$node_bin" -e '
  const url = process.argv[1] + "/health"; const until = Date.now() + 30000
  const poll = () => fetch(url).then(r => r.json()).then(h => { console.log(h.peerId); process.exit(0) },
    () => Date.now() > until ? process.exit(1) : setTimeout(poll, 500))
  poll()' "$url"); then
  die "$service did not answer $url/health within 30 s: see journalctl -u $service -n 50"
fi
port=$(env_get FLEET_LISTEN | sed -n 's|^/ip[46]/[^/]*/tcp/\([0-9]*\).*|\1|p')
say "$service is running: peer id $peer_id, HTTP $url"
for ip in $(hostname -I 2>/dev/null); do
  case "$ip" in *:*) continue;; esac
  say "other nodes can bootstrap from: /ip4/$ip/tcp/${port:-4001}/p2p/$peer_id"
done
