#!/bin/sh
# The container's entrypoint.
#   entrypoint.sh migrate   apply the pending revisions (a Kubernetes Job or init container)
#   entrypoint.sh web       serve the app with gunicorn (refuses to start when not at head)
#   entrypoint.sh CMD ...   run anything else, e.g. `entrypoint.sh flask db status`
set -eu
cd "$(dirname "$0")"
export FLASK_APP=deployapp

case "${1:-web}" in
  migrate) exec flask db upgrade ;;
  web) exec gunicorn --config gunicorn.conf.py "deployapp:create_app()" ;;
  *) exec "$@" ;;
esac
