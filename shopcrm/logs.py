"""What the processes print: errors in full, everything a person can act on in one line.

- ``RefusalsInOneLine``: Django logs every 403 and 404 with the exception's traceback
  (``django.request``); a refused page is the app working, not a fault, so it is one line
  ("Forbidden (Permission denied): /calls/team/").
- ``AccessLog``: gunicorn's access log without the static files (a page load is one line,
  not twenty).
"""

import logging

from gunicorn.glogging import Logger


class RefusalsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in (403, 404):
            record.exc_info, record.exc_text = None, None
        return True


class AccessLog(Logger):
    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO", "").startswith(("/static/", "/favicon.ico")):
            return
        super().access(resp, req, environ, request_time)
