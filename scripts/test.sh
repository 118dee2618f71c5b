#!/usr/bin/env bash
# Run the whole test suite (lint, format, then pytest). Extra arguments go to pytest.
# With DATABASE_URL / REDIS_URL set, the PostgreSQL, Redis and Celery tests run against
# them; without, those tests skip with a reason (and fail under CI=true).
source "$(dirname "$0")/venv.sh" requirements-dev.txt

$PY -m ruff check .
$PY -m ruff format --check .
$PY manage.py compile_translations
exec $PY -m pytest "$@"
