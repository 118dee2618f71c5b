"""What `run.sh` prints a new user (issue 16, "Also"): a refused page is one line, not a
traceback; Celery's embedded broker does not warn about a missing hostname; the access log
leaves out the static files. Errors stay in full."""

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from gunicorn.config import Config
from gunicorn.glogging import Logger

from shopcrm.logs import AccessLog, RefusalsInOneLine
from tests.factories import UserFactory


def console_handler() -> logging.Handler:
    """The console handler as settings.LOGGING configures it."""
    handler = logging.StreamHandler()
    for name in settings.LOGGING["handlers"]["console"]["filters"]:
        assert settings.LOGGING["filters"][name]["()"] == "shopcrm.logs.RefusalsInOneLine"
        handler.addFilter(RefusalsInOneLine())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    return handler


def refusal_record() -> logging.LogRecord:
    """A 403 as Django's django.request logs it: with the exception's traceback."""
    try:
        raise PermissionDenied
    except PermissionDenied:
        record = logging.LogRecord(
            "django.request",
            logging.WARNING,
            __file__,
            1,
            "Forbidden (Permission denied): %s",
            ("/calls/team/",),
            sys.exc_info(),
        )
    record.status_code = 403
    return record


def test_a_refused_page_is_logged_in_one_line_and_an_error_in_full():
    handler = console_handler()
    refused = refusal_record()
    assert handler.filter(refused)
    assert handler.format(refused) == (
        "WARNING django.request Forbidden (Permission denied): /calls/team/"
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        error = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error",
            (),
            sys.exc_info(),
        )
    error.status_code = 500
    assert handler.filter(error) and "Traceback" in handler.format(error)


@pytest.mark.django_db
def test_the_app_logs_a_refused_page_without_its_traceback(client, caplog):
    client.force_login(UserFactory(role="agent", username="agent-noise"))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/calls/team/").status_code == 403
    refused = [r for r in caplog.records if getattr(r, "status_code", None) == 403]
    assert refused and refused[0].exc_info is None  # the configured console handler's filter


def test_the_embedded_broker_names_a_host(tmp_path):
    """Celery printed "No hostname was supplied" three times on every start of run.sh."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="shopcrm.settings", SHOPCRM_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging, django; logging.basicConfig(level=logging.WARNING); django.setup();"
            "from django.conf import settings; from kombu import Connection;"
            "print(settings.CELERY_BROKER_URL); Connection(settings.CELERY_BROKER_URL).info()",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("filesystem://")
    assert "No hostname was supplied" not in done.stderr


def test_the_access_log_leaves_out_static_files(monkeypatch):
    logged = []
    monkeypatch.setattr(
        Logger, "access", lambda self, resp, req, environ, t: logged.append(environ)
    )
    log = AccessLog(Config())
    for path in ("/static/css/app.css", "/favicon.ico", "/board/", "/api/v1/visits/"):
        log.access(None, None, {"PATH_INFO": path}, 0.01)
    assert [environ["PATH_INFO"] for environ in logged] == ["/board/", "/api/v1/visits/"]
