#!/usr/bin/env bash
# Many hosts (issue 15): the docker/ deployment with every role on its own simulated host,
# under faults. Needs root, iproute2 (ip netns), util-linux (unshare, runuser), haproxy,
# redis-server and PostgreSQL; the Python environment at .venv.
#
#   scripts/multihost.sh [--uploads N] [--quick] [--keep]
#   scripts/multihost.sh --driver bench.chaos [--minutes M] [--seed S] ...   (issue 52)
#
# Each host is a network namespace "mh<pid>-<host>" with its own address on 10.213.7.0/24,
# joined by a bridge that lives in a namespace of its own ("mh<pid>-net"): nothing is added
# to the root namespace (no interface, no address, no route), and no namespace has a route
# to anywhere but that /24, so the run's traffic cannot leave it. Each host has its own
# folder (DATA_DIR) under one temporary run folder. bench/multihost.py (run inside the
# "client" namespace) starts the services and the scenario and prints the summary; --driver
# names another driver module on the same hosts (bench/chaos.py: faults at random, overlapping).
# At exit, even on failure or interruption: every process in each namespace is killed, the
# namespaces are deleted and the run folder removed (--keep keeps the folder and its logs;
# so does a failing chaos run, which leaves KEEP in it).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

KEEP=0
DRIVER=bench.multihost
ARGS=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --keep) KEEP=1 ;;
        --driver) DRIVER="${2:?--driver needs a module name}"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) ARGS+=("$1") ;;
    esac
    shift
done
case "$DRIVER" in
    bench.multihost|bench.chaos) ;;
    *) echo "unknown driver $DRIVER (bench.multihost or bench.chaos)" >&2; exit 2 ;;
esac

missing=()
[ "$(id -u)" = 0 ] || missing+=("root")
for tool in ip unshare runuser haproxy redis-server; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=("PostgreSQL (initdb)")
[ -x .venv/bin/python ] || missing+=(".venv")
if [ "${#missing[@]}" -gt 0 ]; then
    echo "multihost.sh needs: ${missing[*]}" >&2
    exit 2
fi

PYTHON="$REPO/.venv/bin/python"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
PREFIX="mh$$-"
NET="${PREFIX}net"
RUN_DIR=""

namespaces() {  # this run's namespaces (the prefix holds our pid: no other run's)
    ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}" || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local ns pids round
    for round in TERM KILL; do
        for ns in $(namespaces); do
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            [ -n "$pids" ] && kill -s "$round" $pids 2>/dev/null || true
        done
        [ "$round" = TERM ] && sleep 2
    done
    for ns in $(namespaces); do
        for _ in 1 2 3 4 5 6 7 8 9 10; do  # bounded: the last processes may take a moment
            [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
            kill -s KILL $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null || true
            sleep 0.5
        done
        ip netns del "$ns" 2>/dev/null || echo "could not delete namespace $ns" >&2
    done
    if [ -n "$RUN_DIR" ] && [ -d "$RUN_DIR" ]; then
        # A failing chaos run leaves KEEP in the folder (bench/chaos.py): its logs stay.
        if [ "$KEEP" = 1 ] || [ -f "$RUN_DIR/KEEP" ]; then
            echo "logs and data kept in $RUN_DIR" >&2
        else
            rm -rf "$RUN_DIR"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A namespace left by an earlier run with our pid (reused) is stale: remove it first.
for ns in $(namespaces); do
    kill -s KILL $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
done

RUN_DIR=$(mktemp -d "/tmp/${PREFIX}XXXXXX")
chmod 755 "$RUN_DIR"  # the postgres user reaches its host's folder below it

# The hosts and their addresses, from the driver (one definition).
mapfile -t LAYOUT < <("$PYTHON" -m "$DRIVER" --layout)
[ "${#LAYOUT[@]}" -gt 0 ] || { echo "no layout from $DRIVER" >&2; exit 1; }

ip netns add "$NET"
ip -n "$NET" link add br0 type bridge
ip -n "$NET" link set br0 up
i=0
for line in "${LAYOUT[@]}"; do
    read -r host address <<<"$line"
    ns="${PREFIX}${host}"
    i=$((i + 1))
    ip netns add "$ns"
    # The pair is made inside the bridge's namespace, its other end moved straight into the
    # host's: neither end ever appears in the root namespace.
    ip -n "$NET" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$NET" link set "v$i" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
done

# In the background and waited for, so that INT or TERM reach the trap at once (bash runs
# traps only between commands); the cleanup kills the driver with its namespace.
set +e
ip netns exec "${PREFIX}client" "$PYTHON" -m "$DRIVER" \
    --prefix "$PREFIX" --run-dir "$RUN_DIR" "${ARGS[@]}" &
wait "$!"
rc=$?
set -e
exit "$rc"
