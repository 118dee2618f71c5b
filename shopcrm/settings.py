"""Settings of shopcrm, all from environment variables with safe defaults.

With nothing set the app runs on SQLite in ``var/`` and Celery uses an embedded
filesystem broker (no Redis). ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL
and Redis. ``SHOPCRM_PRODUCTION=1`` is production mode: it refuses to start without
``SECRET_KEY`` and ``ALLOWED_HOSTS`` and turns on every ``check --deploy`` setting.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SHOPCRM_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = env_bool("SHOPCRM_PRODUCTION")
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production mode (SHOPCRM_PRODUCTION=1).")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if PRODUCTION:
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "Production mode needs SECRET_KEY: a random value of at least 50 characters."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Production mode needs ALLOWED_HOSTS (comma-separated).")
else:
    SECRET_KEY = SECRET_KEY or "django-insecure-development-only-key-do-not-use-in-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "shopcrm.admin_site.ShopAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "shopcrm",
    "shopcalendar",
    "customers",
    "visits",
    "bookings",
    "followups",
    "messaging",
    "surveys",
    "complaints",
    "servicemessages",
    "onlinebooking",
    "textinsights",
    "reports",
    "campaigns",
    "digest",
    "api",
    "privacy",
]

MIDDLEWARE = [
    "shopcrm.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "shopcrm.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "shopcrm.sessions.IdleTimeoutMiddleware",
    "shopcrm.middleware.RefuseUnstorableInputMiddleware",  # NUL, lone surrogates: a 400
]

ROOT_URLCONF = "shopcrm.urls"
WSGI_APPLICATION = "shopcrm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shopcrm.context_processors.navigation",
            ],
            "builtins": ["shopcrm.templatetags.shopcrm_tags"],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'shopcrm.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Several processes (web, worker, beat) share the file: wait rather than fail.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # django-pgtrigger's triggers first read the setting pgtrigger.ignore; where it is not
    # set, reading it raises and catches an error on every trigger call, which costs more
    # the more rows a transaction writes (docs/decisions.md). Every connection sets it empty,
    # after whatever options DATABASE_URL gave (?options=…). Behind PgBouncer, list
    # "options" in its ignore_startup_parameters and set pgtrigger.ignore on the database.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c pgtrigger.ignore={{}}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "shopcrm.cache.RedisCache",  # Django's, one client per pool
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "shopcrm",
            # A hung Redis costs a request at most these, then it is left alone a while.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "shopcrm.auth.CachedPermissionBackend",  # ModelBackend, permission sets cached
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login lockout (django-axes): five wrong passwords lock that username from that address.
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Across usernames from one address within the cool-off (password spraying): shopcrm.login.
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "20"))
# A shared reception PC: a session unused this long is signed out (shopcrm.sessions).
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
# Requests a minute from one address to the public survey pages (surveys.views).
SURVEY_PAGE_RATE = int(os.environ.get("SURVEY_PAGE_RATE", "60"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (work-item photos): local files under the data directory, or an
# S3-compatible bucket (django-storages) when SHOPCRM_S3_BUCKET is set. Never served as
# public URLs: the app streams a photo after checking who asks (a staff page, a status link).
MEDIA_ROOT = Path(os.environ.get("SHOPCRM_MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "/media/"  # unused: photos are served by views that check access
S3_BUCKET = os.environ.get("SHOPCRM_S3_BUCKET", "")
DEFAULT_FILE_STORAGE_BACKEND = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("SHOPCRM_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("SHOPCRM_S3_REGION") or None,
            "access_key": os.environ.get("SHOPCRM_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("SHOPCRM_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if S3_BUCKET
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
STORAGES = {
    "default": DEFAULT_FILE_STORAGE_BACKEND,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Celery: Redis when REDIS_URL is set, otherwise an embedded filesystem broker.
CELERY_BROKER_DIR = DATA_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Sending a task tries the broker once (shopcrm.celery.enqueue): a dead Redis answers a
    # request in milliseconds, a hung one in seconds, and the sweeps do the work later. The
    # worker and beat reconnect by their own settings (broker_connection_retry).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 0,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
else:
    CELERY_BROKER_URL = "filesystem://localhost//"  # a host, or kombu warns it has none
    for _folder in ("celery-broker", "celery-control"):
        (DATA_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "control_folder": str(DATA_DIR / "celery-control"),
    }
# Two queues, and every worker takes from both in turn: sending messages ("outbox") never
# holds up the events and sweeps ("celery") behind it — a first start's backlog of reminder
# SMS once delayed a delivered car's call by ten minutes (docs/decisions.md, issue 16).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("outbox"))
CELERY_TASK_ROUTES = {"messaging.tasks.*": {"queue": "outbox"}}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "visits-mark-no-shows": {
        "task": "visits.tasks.sweep_no_show_appointments",
        "schedule": 300.0,
    },
    # A customer's own advisor is set with their first visit (desk or DMS); this finds any
    # customer a visit left without one (issue 19).
    "visits-customer-advisors": {
        "task": "visits.tasks.sweep_customer_advisors",
        "schedule": 600.0,
    },
    "followups-missing-calls": {
        "task": "followups.tasks.sweep_missing_calls",
        "schedule": 60.0,
    },
    "followups-leases-and-expiry": {
        "task": "followups.tasks.sweep_leases_and_expiry",
        "schedule": 60.0,
    },
    # The retention policy (Admin → 保留期限): message bodies, phone reveals, login
    # attempts, expired sessions and the API's idempotency records, whose pruning it runs.
    "privacy-retention-sweep": {
        "task": "privacy.tasks.retention_sweep",
        "schedule": 3600.0,
    },
    "messaging-send-due": {
        "task": "messaging.tasks.send_due_messages",
        "schedule": 60.0,
    },
    "complaints-escalate": {
        "task": "complaints.tasks.escalate_breaches",
        "schedule": 60.0,
    },
    "surveys-invitations": {
        "task": "surveys.tasks.sweep_invitations",
        "schedule": 60.0,
    },
    "servicemessages-missing": {
        "task": "servicemessages.tasks.sweep_missing_service_messages",
        "schedule": 60.0,
    },
    "followups-refresh-states": {
        "task": "followups.tasks.refresh_states",
        "schedule": 60.0,
    },
    "reports-refresh-daily-figures": {
        "task": "reports.tasks.refresh_daily_figures",
        "schedule": 60.0,
    },
    # Each customer's value tier (issue 19), stored nightly: the first run after the shop's
    # midnight does it, the others that day find it done (a night missed is made up).
    "reports-value-tiers": {
        "task": "reports.tasks.refresh_value_tiers",
        "schedule": 3600.0,
    },
    # The day-before reminder of each appointment (once per appointment and slot), and the
    # booking page's spent one-time codes.
    "onlinebooking-reminders": {
        "task": "onlinebooking.tasks.sweep_booking_reminders",
        "schedule": 600.0,
    },
    # The morning digest (issue 19): made once the policy's time has passed, one per
    # recipient and day; the same beat sends any digest not yet in the outbox.
    "digest-morning": {
        "task": "digest.tasks.morning_digests",
        "schedule": 120.0,
    },
    # Campaigns (issue 19): start the due ones (their audience frozen into contacts), plan
    # each contact's call and message once, end the ones past their end date.
    "campaigns-run": {
        "task": "campaigns.tasks.run_campaigns",
        "schedule": 300.0,
    },
    "followups-reminders-and-win-backs": {
        "task": "followups.tasks.sweep_reminders_and_win_backs",
        "schedule": 900.0,
    },
}

# The REST API (API.md): token clients and browser sessions, JSON only, throttled per client.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_MB", "5")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.HashedTokenAuthentication",  # tokens stored as SHA-256
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.SafeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shopcrm.refusals.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.UserRateThrottle",  # DRF's rates, counted atomically per window
        "api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_THROTTLE_USER", "1200/min"),
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "shopcrm API",
    "DESCRIPTION": "DMS sync (bulk upserts keyed by external_id) and read-back. See API.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SECURITY": [{"tokenAuth": []}],
    # Several models have a "status" or "channel" with their own choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "VisitStatusEnum": "visits.models.Visit.Status",
        "SurveyChannelEnum": "surveys.models.Channel",
        "ComplaintChannelEnum": "complaints.models.Complaint.Channel",
        "MessageOutChannelEnum": "messaging.models.Message.Channel",
        "ComplaintStatusEnum": "complaints.models.Complaint.Status",
        "CustomerKindEnum": "customers.models.Customer.Kind",
        "FollowUpTaskKindEnum": "followups.models.FollowUpTask.Kind",
        "FollowUpTaskStatusEnum": "followups.models.FollowUpTask.Status",
        "AppointmentStatusEnum": "visits.models.Appointment.Status",
        "AppointmentSourceEnum": "visits.models.Appointment.Source",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.sync_contract",
    ],
}

# One sender per channel: console/file in development, locmem in tests, Aliyun or Tencent
# Cloud SMS in production (credentials from their environment variables, see README).
MESSAGING_BACKENDS = {
    "sms": os.environ.get("SMS_BACKEND", "messaging.backends.ConsoleBackend"),
    # WeChat's own sender once an Official Account is configured (WECHAT_APP_ID, below).
    "wechat": os.environ.get("WECHAT_BACKEND")
    or (
        "messaging.wechat.WeChatTemplateBackend"
        if os.environ.get("WECHAT_APP_ID")
        else "messaging.backends.ConsoleBackend"
    ),
    "email": os.environ.get("EMAIL_MESSAGE_BACKEND", "messaging.backends.ConsoleBackend"),
}

# WeChat Official Account (issue 18, docs/decisions.md "WeChat, for real"): unset app id, no
# WeChat at all (no binding offered, WeChat-preferred customers get SMS). The base URLs are
# settable so the tests point them at a fake server.
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
WECHAT_AUTHORIZE_URL = os.environ.get(
    "WECHAT_AUTHORIZE_URL", "https://open.weixin.qq.com/connect/oauth2/authorize"
)
# The template id of each message purpose (Message.Purpose), from WECHAT_TEMPLATE_<PURPOSE>,
# e.g. WECHAT_TEMPLATE_SERVICE_READY. A purpose without one is sent by SMS.
WECHAT_TEMPLATES = {
    key[len("WECHAT_TEMPLATE_") :].lower(): value
    for key, value in os.environ.items()
    if key.startswith("WECHAT_TEMPLATE_") and value
}
SMS_TEMPLATE_MAINTENANCE_REMINDER = os.environ.get("SMS_TEMPLATE_MAINTENANCE_REMINDER", "")
SMS_TEMPLATE_SURVEY_INVITATION = os.environ.get("SMS_TEMPLATE_SURVEY_INVITATION", "")
# The shared secrets in the SMS reply callback URLs (/sms/replies/<provider>/<token>/, see
# README): neither provider signs its reply pushes, so the URL's secret is the proof. Unset,
# the endpoint refuses every push.
SMS_REPLY_TOKENS = {
    "aliyun": os.environ.get("SMS_REPLY_TOKEN_ALIYUN", ""),
    "tencent": os.environ.get("SMS_REPLY_TOKEN_TENCENT", ""),
}
SMS_TEMPLATE_WIN_BACK = os.environ.get("SMS_TEMPLATE_WIN_BACK", "")
SMS_TEMPLATE_CAMPAIGN = os.environ.get("SMS_TEMPLATE_CAMPAIGN", "")
SMS_TEMPLATE_RECALL = os.environ.get("SMS_TEMPLATE_RECALL", "")
SMS_TEMPLATE_BOOKING_CODE = os.environ.get("SMS_TEMPLATE_BOOKING_CODE", "")
# The address customers reach the public survey page at (the link in the invitation). Unset,
# the port run.sh serves on (PORT), so a demo on another port sends working links.
SHOPCRM_PUBLIC_URL = os.environ.get("SHOPCRM_PUBLIC_URL") or (
    f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
)

# Business defaults that later become admin-editable policies.
SHOPCRM_NO_SHOW_GRACE = timedelta(hours=2)
# A visit synced as delivered longer ago than this starts no follow-up (API.md).
SHOPCRM_DELIVERED_EVENT_LOOK_BACK = timedelta(
    days=int(os.environ.get("DELIVERED_LOOK_BACK_DAYS", "7"))
)

SESSION_COOKIE_HTTPONLY = True
# Sessions are read from the cache (Redis when configured) and written through to the
# database, so a restart of Redis logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from our own static files, plus the few
# inline ones carrying the request's nonce; no inline event handlers. Styles may be inline
# (the charts size their boxes with style attributes, ECharts and Swagger UI set styles);
# images and fonts from data: URLs (Swagger UI's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"refusals_in_one_line": {"()": "shopcrm.logs.RefusalsInOneLine"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusals_in_one_line"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

SHOP_NAME = os.environ.get("SHOP_NAME", _("示例汽车4S店"))
# Printed on the repair order (and what a customer reads on it): the shop's address and the
# service desk's phone.
SHOP_ADDRESS = os.environ.get("SHOP_ADDRESS", _("深圳市南山区科技园示例路 88 号"))
SHOP_PHONE = os.environ.get("SHOP_PHONE", "0755-8888 6666")
