"""The project sets itself up: production mode, deploy checks, docker-compose, migrations,
translations and demo data."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import import_module
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command, get_commands

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "SHOPCRM_PRODUCTION": "1",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "crm.example.com,127.0.0.1",
}


def manage(*args, env_overrides=None, unset=()):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shopcrm.settings", **(env_overrides or {})}
    for name in unset:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_connection_options_from_the_database_url_are_kept():
    """Every PostgreSQL connection sets pgtrigger.ignore (docs/decisions.md) after, not
    instead of, the options DATABASE_URL names."""
    url = "postgres://u@127.0.0.1:5432/x?options=-c%20search_path%3Dshop"
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])",
        env_overrides={"DATABASE_URL": url},
    )
    assert result.returncode == 0, result.stderr
    assert "'-c search_path=shop -c pgtrigger.ignore={}'" in result.stdout


# ---------------------------------------------------------------- production mode


def test_check_deploy_reports_nothing_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "Production mode needs SECRET_KEY"),
        ("ALLOWED_HOSTS", "Production mode needs ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without(missing, message):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env_overrides=env, unset=[missing])
    assert result.returncode != 0
    assert message in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = manage("check", env_overrides={**PRODUCTION_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_production_refuses_debug():
    result = manage("check", env_overrides={**PRODUCTION_ENV, "DEBUG": "1"})
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_production_serves_its_own_static_files_with_whitenoise(tmp_path):
    env = {
        **PRODUCTION_ENV,
        "STATIC_ROOT": str(tmp_path / "static"),
        "SHOPCRM_DATA_DIR": str(tmp_path / "data"),
    }
    collected = manage("collectstatic", "--noinput", "-v0", env_overrides=env)
    assert collected.returncode == 0, collected.stderr
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    server = subprocess.Popen(
        [gunicorn, "shopcrm.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "shopcrm.settings", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/static/vendor/bootstrap/bootstrap.min.css",
                    headers={"X-Forwarded-Proto": "https", "Host": "crm.example.com"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    assert response.status == 200
                    assert "text/css" in response.headers["Content-Type"]
                    assert b"Bootstrap" in response.read(400)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        # Plain HTTP is redirected to HTTPS in production.
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as info:
            opener.open(
                urllib.request.Request(
                    f"http://127.0.0.1:{port}/accounts/login/", headers={"Host": "crm.example.com"}
                )
            )
        assert info.value.code == 301
        assert info.value.headers["Location"].startswith("https://crm.example.com/")
    finally:
        server.terminate()
        server.wait(timeout=10)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# ---------------------------------------------------------------- docker-compose


def test_docker_compose_runs_the_production_shape():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    assert {"pgdata", "redisdata", "beatdata"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["environment"]["SHOPCRM_PRODUCTION"] == "1"


def _check_command_names_real_things(command: list[str]) -> None:
    """Each program, module and management command a service starts must exist."""
    if command[:2] == ["sh", "-c"]:
        for part in command[2].split("&&"):
            _check_command_names_real_things(part.replace("exec ", "").split())
        return
    program = command[0]
    if program == "python" and command[1] == "manage.py":
        assert (ROOT / "manage.py").exists()
        assert command[2] in get_commands(), f"no management command {command[2]}"
    elif program == "gunicorn":
        module, _, attribute = command[1].partition(":")
        assert hasattr(import_module(module), attribute or "application")
        assert shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    elif program == "celery":
        app_module = command[command.index("-A") + 1]
        assert hasattr(import_module(app_module), "celery_app")
        assert command[command.index("-A") + 2] in ("worker", "beat", "inspect")
        assert shutil.which("celery", path=str(Path(sys.executable).parent))
    elif program == "redis-server":
        pass  # the redis image's own program
    else:
        pytest.fail(f"unknown program in docker-compose: {program}")


def test_each_service_command_names_something_that_exists():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        if "command" in service:
            _check_command_names_real_things(service["command"])
        elif name in ("web", "worker", "beat"):
            pytest.fail(f"{name} has no command")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile and "collectstatic" in dockerfile


def test_requirements_are_all_pinned():
    for file in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / file).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert "==" in line, f"{file}: {line} is not pinned"


# ---------------------------------------------------------------- schema, translations, demo


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_compile_translations_without_system_gettext(tmp_path, settings):
    source = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
    target = tmp_path / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(source, target / "django.po")
    settings.LOCALE_PATHS = [tmp_path]
    out = StringIO()
    call_command("compile_translations", stdout=out)
    assert (target / "django.mo").stat().st_size > 1000
    assert "1 file(s) compiled" in out.getvalue()


@pytest.mark.django_db
def test_seed_demo_makes_a_believable_shop():
    from django.contrib.auth import get_user_model

    from customers.models import Customer, Vehicle
    from customers.validators import normalize_phone, normalize_plate, normalize_vin
    from visits.models import Appointment, Visit

    out = StringIO()
    call_command("seed_demo", "--customers", "150", stdout=out)
    assert "150 customers" in out.getvalue()
    assert Customer.objects.count() == 150
    for customer in Customer.objects.all():
        assert normalize_phone(customer.phone) == customer.phone
    plates = set()
    for vehicle in Vehicle.objects.all():
        assert normalize_vin(vehicle.vin) == vehicle.vin  # check digits are valid
        assert normalize_plate(vehicle.plate) == vehicle.plate
        plates.add(vehicle.plate[0])
    assert len(plates) > 1  # plates from more than one province
    assert Visit.objects.filter(status=Visit.Status.DELIVERED).count() > 150
    assert Visit.objects.filter(status__in=Visit.IN_WORKSHOP).exists()
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).exists()
    # Answers on the web came through invitations, so the response rate is a figure.
    from datetime import timedelta

    from django.utils import timezone

    from reports import metrics

    today = timezone.localdate()
    rate = metrics.summary(metrics.Period(today - timedelta(days=364), today))
    assert 0 < rate["survey_response_rate"] < 1
    users = get_user_model().objects
    for role in ("advisor", "agent", "manager", "admin", "dms_client"):
        assert users.filter(groups__name=role).exists(), role
    # The demo DMS reaches the API with the token printed once, never the browser.
    dms = users.get(username="dms")
    key = out.getvalue().rsplit("one): ", 1)[1].strip()
    assert not dms.has_usable_password() and dms.api_tokens.count() == 1
    assert dms.api_tokens.get().prefix == key[:8]
    # A second run with --if-empty loads nothing more.
    call_command("seed_demo", "--customers", "150", "--if-empty", stdout=StringIO())
    assert Customer.objects.count() == 150


RUNTIME_IMPORTS = """
import importlib, json, pkgutil, sys
import django
django.setup()
from django.conf import settings
for app in ("shopcrm", "customers", "visits", "followups", "messaging", "api"):
    package = importlib.import_module(app)
    for module in pkgutil.walk_packages(package.__path__, app + "."):
        if ".migrations." not in module.name and ".tests" not in module.name:
            importlib.import_module(module.name)
import kombu.transport.redis, kombu.transport.filesystem, redis, psycopg  # brokers and databases
import gunicorn.app.wsgiapp, celery.bin.celery, whitenoise.middleware
print(json.dumps(sorted(sys.modules)))
"""


def _requirement_closure() -> set[str]:
    """Every distribution requirements.txt brings in, following extras and dependencies."""
    import importlib.metadata as metadata
    import re

    from packaging.requirements import Requirement

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pending = [
        Requirement(line.split("#")[0].strip())
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        key = (canonical(requirement.name), tuple(sorted(requirement.extras)))
        if str(key) in seen:
            continue
        seen.add(str(key))
        seen.add(canonical(requirement.name))
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            child = Requirement(text)
            environment = {"extra": ""}
            if child.marker and not any(
                child.marker.evaluate({**environment, "extra": extra})
                for extra in [*requirement.extras, ""]
            ):
                continue
            pending.append(child)
    return {name for name in seen if not name.startswith("(")}


# Imported only when present, with a fallback when absent (celery's ``try: import greenlet``,
# prompt_toolkit's pygments styles, DRF's ``try: import requests`` with what requests needs)
# or loaded by the interpreter itself (setuptools' .pth).
OPTIONAL_AT_RUNTIME = {
    "greenlet",
    "pygments",
    "setuptools",
    "requests",
    "urllib3",
    "idna",
    "certifi",
    "charset-normalizer",
}


def test_runtime_imports_come_from_requirements_txt_alone():
    """The dev requirements must not hide a missing runtime package (packaging for the
    Redis transport was one): everything the app imports is declared in requirements.txt."""
    import importlib.metadata as metadata
    import json
    import re

    result = subprocess.run(
        [sys.executable, "-c", RUNTIME_IMPORTS],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "shopcrm.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    providers = metadata.packages_distributions()
    closure = _requirement_closure()
    undeclared = set()
    for module in modules:
        top = module.split(".")[0]
        for distribution in providers.get(top, []):
            name = re.sub(r"[-_.]+", "-", distribution).lower()
            if name not in closure and name not in OPTIONAL_AT_RUNTIME:
                undeclared.add(f"{name} (imported as {top})")
    assert not undeclared, f"imported at run time but not in requirements.txt: {sorted(undeclared)}"


def test_database_connections_are_health_checked():
    from django.conf import settings

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_the_survey_link_follows_the_port_run_sh_serves_on():
    """Issue 16, bug 3: with PORT=8101 the invitations linked to port 8000."""
    show = "from django.conf import settings; print(settings.SHOPCRM_PUBLIC_URL)"
    moved = manage(
        "shell", "-c", show, env_overrides={"PORT": "8101"}, unset=["SHOPCRM_PUBLIC_URL"]
    )
    assert moved.stdout.strip().splitlines()[-1] == "http://127.0.0.1:8101", moved.stderr
    public = manage(
        "shell",
        "-c",
        show,
        env_overrides={"PORT": "8101", "SHOPCRM_PUBLIC_URL": "https://crm.example.cn"},
    )
    assert public.stdout.strip().splitlines()[-1] == "https://crm.example.cn"
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    assert "export PORT=" in run_sh  # the worker and beat see it too
