#!/usr/bin/env bash
# Run shopcrm with demo data: web server, Celery worker and Celery beat. Ctrl-C stops all.
# Without DATABASE_URL / REDIS_URL: SQLite in var/ and an embedded Celery broker.
source "$(dirname "$0")/venv.sh" requirements.txt

export PORT=${PORT:-8000}  # the worker's survey links use it (SHOPCRM_PUBLIC_URL's default)
$PY manage.py migrate --noinput
$PY manage.py compile_translations
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo --if-empty

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping shopcrm…"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

.venv/bin/gunicorn shopcrm.wsgi --bind "0.0.0.0:$PORT" --workers 2 --threads 4 \
  --access-logfile - --logger-class shopcrm.logs.AccessLog --log-level warning & pids+=($!)
.venv/bin/celery -A shopcrm worker --loglevel INFO --concurrency 2 & pids+=($!)
.venv/bin/celery -A shopcrm beat --loglevel INFO & pids+=($!)

cat <<MSG

  shopcrm is running:  http://127.0.0.1:$PORT/
  Database: ${DATABASE_URL:-SQLite (var/shopcrm.sqlite3)}   Broker: ${REDIS_URL:-embedded (var/celery-broker)}
  Demo logins (password: shopcrm-demo)
    advisor   服务顾问 / service advisor
    agent     回访专员 / call-centre agent
    manager   售后经理 / manager
    admin     系统管理员 / administrator (Django admin at /admin/)
    dms       DMS 接口 / DMS client: the API only, with the token printed above on the
              first start (a new one: .venv/bin/python manage.py create_api_token dms)
  Ctrl-C stops the web server, the worker and beat.

MSG
# Stop everything as soon as any one process exits.
wait -n "${pids[@]}"
