#!/usr/bin/env sh
# One start script per process kind:
#   web | worker | baseline-worker | algorithms-worker | beat | migrate.
set -eu
case "${1:-web}" in
  web)
    python manage.py migrate --no-input
    exec gunicorn challenge_platform.wsgi:application \
      --bind 0.0.0.0:8000 --workers "${WEB_CONCURRENCY:-3}" --timeout 120 \
      --max-requests 2000 --max-requests-jitter 200 --access-logfile -
    ;;
  worker)
    exec celery -A challenge_platform worker -Q scoring,notifications \
      --concurrency "${WORKER_CONCURRENCY:-2}" --hostname "scoring@%h" --loglevel INFO
    ;;
  baseline-worker)
    exec celery -A challenge_platform worker -Q baselines \
      --concurrency 1 --prefetch-multiplier 1 --hostname "baselines@%h" --loglevel INFO
    ;;
  algorithms-worker)
    # Sandboxed algorithm runs (bubblewrap): see docker/README-algorithms.md for the host.
    exec celery -A challenge_platform worker -Q algorithms \
      --concurrency "${ALGORITHM_WORKER_CONCURRENCY:-1}" --prefetch-multiplier 1 \
      --hostname "algorithms@%h" --loglevel INFO
    ;;
  beat)
    exec celery -A challenge_platform beat --loglevel INFO --schedule /tmp/celerybeat-schedule
    ;;
  migrate)
    exec python manage.py migrate --no-input
    ;;
  *)
    exec "$@"
    ;;
esac
