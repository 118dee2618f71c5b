"""The project's settings, plus the naive ModelViewSets the sync benchmark compares with
(mounted at /bench-naive/ by benchmarks.urls). Refused in production mode."""

from shopcrm.settings import *  # noqa: F403
from shopcrm.settings import PRODUCTION

if PRODUCTION:
    raise RuntimeError("The benchmark settings are not for production.")

ROOT_URLCONF = "benchmarks.urls"
