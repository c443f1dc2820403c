#!/usr/bin/env sh
# Start one process of the Procfile (the same file `manage.py runplatform` reads):
#   entrypoint.sh web | boards | renders | worker | baselines | algorithms | beat   (a Procfile entry)
#   entrypoint.sh migrate                             (one-off: apply migrations, then exit)
#   entrypoint.sh <any command>                       (run it as given)
# `baseline-worker` and `algorithms-worker` are kept as names of the `baselines` and
# `algorithms` entries.
set -eu
cd "$(dirname "$0")/.."
role="${1:-web}"
[ "$role" = "baseline-worker" ] && role=baselines
[ "$role" = "algorithms-worker" ] && role=algorithms
case "$role" in
  migrate)
    exec python manage.py migrate --no-input
    ;;
  *[!A-Za-z0-9_-]*)  # not a Procfile name: a command
    exec "$@"
    ;;
esac
command=$(sed -n "s/^${role}:[[:space:]]*//p" Procfile 2>/dev/null | head -n 1)
if [ -z "$command" ]; then
  exec "$@"
fi
if [ "$role" = web ] && [ "${MIGRATE_ON_START:-1}" = 1 ]; then
  python manage.py migrate --no-input
fi
exec /bin/sh -c "exec $command"
