"""Benchmark the report endpoints at a large group's history (a benchmark, never a test).

Loads 1,000,000 visits, 200,000 customers, 300,000 survey responses and 20,000 complaints
(plus follow-up calls and invitations) into PostgreSQL with COPY, then times each report
endpoint — through Django's test client, the whole request — for a 12-month period and
for all history, cold (first request on a fresh connection) and warm (median of the next
seven or more; the dashboard page's of the next five), next to one hand-written SQL query computing the same figures (the floor). It
empties the tables, so it wants a database whose name ends in "_bench" (or --force).

    createdb -h 127.0.0.1 -U postgres shopcrm_reports_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/shopcrm_reports_bench
    .venv/bin/python manage.py migrate && .venv/bin/python -m benchmarks reports
"""

import contextlib
import json
import random
import statistics
import time
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from benchmarks import report_floors as floors
from customers.validators import vin_check_digit
from followups import states
from followups.models import CallAttempt, FollowUpTask
from reports import daily
from reports.models import DailyFigures
from shopcrm import roles
from surveys import scoring
from surveys.models import SurveyInvitation
from surveys.selectors import template_default
from visits.models import Visit

TABLES = [
    "followups_callattempt",
    "followups_followuptask",
    "followups_historicalfollowuptask",
    "surveys_answer",
    "surveys_surveyresponse",
    "surveys_surveyinvitation",
    "complaints_complaintevent",
    "complaints_complaintescalation",
    "complaints_complaint",
    "visits_historicalvisit",
    "visits_visit",
    "customers_historicalvehicle",
    "customers_vehicle",
    "customers_historicalcustomer",
    "customers_phonereveal",
    "customers_customer",
]


class Command(BaseCommand):
    help = "Benchmark the report endpoints on 1M visits (empties the tables of a *_bench database)."

    def add_arguments(self, parser):
        parser.add_argument("--visits", type=int, default=1_000_000)
        parser.add_argument("--customers", type=int, default=200_000)
        parser.add_argument("--responses", type=int, default=300_000)
        parser.add_argument("--complaints", type=int, default=20_000)
        parser.add_argument("--skip-load", action="store_true", help="time only")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, visits, customers, responses, complaints, skip_load, force, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The reports benchmark needs PostgreSQL: set DATABASE_URL.")
        name = connection.settings_dict["NAME"]
        if not name.endswith("_bench") and not force:
            raise CommandError(
                f"The reports benchmark empties tables; use a *_bench database (not {name})."
            )
        settings.DEBUG = False
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        today = timezone.localdate()
        if not skip_load:
            started = time.perf_counter()
            self._load(today, visits, customers, responses, complaints)
            self.stdout.write(f"Loaded in {time.perf_counter() - started:.0f} s.")
            started = time.perf_counter()
            states.rebuild()  # the load ran without triggers: rebuild everything
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE followups_vehiclestate, followups_customerstate")
            self.stdout.write(
                f"Summary tables (vehicle and customer states) built in "
                f"{time.perf_counter() - started:.1f} s."
            )
            started = time.perf_counter()
            daily.rebuild()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE reports_dailyfigures")
            self.stdout.write(
                f"Summary table (daily figures, {DailyFigures.objects.count():,} rows) built in "
                f"{time.perf_counter() - started:.1f} s."
            )
        else:
            started = time.perf_counter()
            taken = states.refresh() + daily.refresh()
            self.stdout.write(
                f"Summary tables brought up to date ({taken} changes) in "
                f"{time.perf_counter() - started:.1f} s."
            )
        backend = settings.CACHES["default"]["BACKEND"]
        self.stdout.write(f"Cache: {backend}")
        if "redis" not in backend.lower():
            self.stdout.write("  (set REDIS_URL to time requests as production serves them)")
        self._time(today)
        self._time_writes()

    # ------------------------------------------------------------------ loading

    def _load(self, today, n_visits, n_customers, n_responses, n_complaints):
        rng = random.Random(11)
        with connection.cursor() as cursor:
            # A shop's history arrives with a restore, not row by row: no change-logging
            # triggers during the load (COPY fires them), one rebuild of the summary tables
            # after it.
            # Not a superuser: loaded with the triggers, only slower.
            with contextlib.suppress(DatabaseError):
                cursor.execute("SET session_replication_role = replica")
            cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        advisors = self._advisors(12)
        now = timezone.now()
        tz = timezone.get_default_timezone()
        start = today - timedelta(days=365 * 5)
        raw = connection.connection
        n_vehicles = int(n_customers * 1.2)

        def copy(table, columns, rows):
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as stream,
            ):
                for row in rows:
                    stream.write_row(row)

        copy(
            "customers_customer",
            [
                "id",
                "name",
                "kind",
                "phone",
                "phone2",
                "email",
                "wechat_openid",
                "preferred_channel",
                "contact_window",
                "marketing_consent",
                "marketing_consent_source",
                "do_not_contact",
                "created_at",
                "updated_at",
            ],
            (
                (
                    n,
                    f"客户{n}",
                    "individual",
                    f"+86135{n:08d}",
                    "",
                    "",
                    "",
                    "sms",
                    "any",
                    n % 3 == 0,
                    "",
                    False,
                    now,
                    now,
                )
                for n in range(1, n_customers + 1)
            ),
        )
        vehicle_owner = [0] + [
            rng.randint(1, n_customers) if n > n_customers else n for n in range(1, n_vehicles + 1)
        ]
        copy(
            "customers_vehicle",
            [
                "id",
                "vin",
                "vin_check_override",
                "plate",
                "is_active",
                "brand",
                "model",
                "colour",
                "registration_date",
                "created_at",
                "updated_at",
                "owner_id",
            ],
            (
                (
                    n,
                    _vin(n),
                    False,
                    "",
                    True,
                    "大众",
                    "朗逸",
                    "",
                    None if n % 9 == 0 else start - timedelta(days=rng.randint(0, 2000)),
                    now,
                    now,
                    vehicle_owner[n],
                )
                for n in range(1, n_vehicles + 1)
            ),
        )
        visit_rows = []
        for n in range(1, n_visits + 1):
            vehicle = rng.randint(1, n_vehicles)
            day = start + timedelta(days=rng.randint(0, (today - start).days))
            checked_in = timezone.make_aware(
                datetime.combine(day, datetime.min.time()), tz
            ) + timedelta(hours=rng.uniform(8, 17))
            delivered = checked_in + timedelta(hours=rng.uniform(1, 30))
            if delivered > now:
                delivered = None
            promised = (
                None if rng.random() < 0.15 else checked_in + timedelta(hours=rng.uniform(2, 28))
            )
            visit_rows.append(
                (
                    n,
                    f"RO{n:010d}",
                    "",
                    rng.choice(["maintenance", "maintenance", "repair", "warranty", "accident"]),
                    "delivered" if delivered else "in_progress",
                    checked_in,
                    promised,
                    delivered,
                    rng.randint(1000, 300_000),
                    False,
                    "",
                    "",
                    rng.random() < 0.4,
                    "",
                    now,
                    now,
                    vehicle_owner[vehicle],
                    vehicle,
                    advisors[n % len(advisors)],
                    promised,  # the first promise (last, so the indices above stay)
                )
            )
        # A shop writes its visits as the days go by: ids, RO numbers and the table's
        # physical order follow the check-in time, as in any production table.
        visit_rows.sort(key=lambda row: row[5])
        visit_rows = [(n, f"RO{n:010d}", *row[2:]) for n, row in enumerate(visit_rows, start=1)]
        copy(
            "visits_visit",
            [
                "id",
                "ro_number",
                "advisor_code",
                "service_type",
                "status",
                "checked_in_at",
                "promised_at",
                "delivered_at",
                "odometer_km",
                "odometer_lower_confirmed",
                "concern",
                "walkaround_notes",
                "by_appointment",
                "cancel_reason",
                "created_at",
                "updated_at",
                "customer_id",
                "vehicle_id",
                "advisor_id",
                "first_promised_at",
            ],
            visit_rows,
        )
        delivered_visits = [row for row in visit_rows if row[7] is not None]
        template = template_default()
        questions = [
            scoring.ScoredQuestion(q.code, q.kind, q.dimension) for q in template.questions.all()
        ]
        response_rows = []
        for n, visit in enumerate(
            sorted(
                rng.sample(delivered_visits, min(n_responses, len(delivered_visits))),
                key=lambda visit: visit[7],  # answers come in as the visits are delivered
            ),
            1,
        ):
            answers = [
                (
                    q,
                    rng.choice([3, 4, 5, 5, 5, 2])
                    if q.kind == "scale"
                    else (rng.randint(0, 10) if q.kind == "nps" and rng.random() < 0.8 else None),
                )
                for q in questions
            ]
            score = scoring.score(answers)
            response_rows.append(
                (
                    n,
                    "sms",
                    visit[7] + timedelta(days=1),
                    score.csi,
                    json.dumps(score.dimensions),
                    score.nps_score,
                    score.nps_class,
                    score.is_alert,
                    score.all_top_marks,
                    False,
                    now,
                    now,
                    visit[16],
                    visit[0],
                    template.pk,
                )
            )
        copy(
            "surveys_surveyresponse",
            [
                "id",
                "channel",
                "submitted_at",
                "csi",
                "dimension_scores",
                "nps_score",
                "nps_class",
                "is_alert",
                "all_top_marks",
                "completed_quickly",
                "created_at",
                "updated_at",
                "customer_id",
                "visit_id",
                "template_id",
            ],
            response_rows,
        )
        copy(
            "surveys_surveyinvitation",
            [
                "id",
                "channel",
                "status",
                "due_at",
                "sent_at",
                "skip_reason",
                "created_at",
                "customer_id",
                "template_id",
                "visit_id",
            ],
            (
                (
                    n,
                    "sms",
                    rng.choice(["sent", "completed", "expired"]),
                    visit[7],
                    visit[7],
                    "",
                    now,
                    visit[16],
                    template.pk,
                    visit[0],
                )
                for n, visit in enumerate(
                    sorted(
                        rng.sample(delivered_visits, min(len(delivered_visits), n_responses * 2)),
                        key=lambda visit: visit[7],
                    ),
                    1,
                )
            ),
        )
        task_visits = sorted(
            rng.sample(delivered_visits, min(len(delivered_visits), n_responses)),
            key=lambda visit: visit[7],
        )
        copy(
            "followups_followuptask",
            [
                "id",
                "kind",
                "source_key",
                "reason",
                "priority",
                "due_at",
                "next_attempt_at",
                "status",
                "attempts",
                "outcome",
                "outcome_note",
                "created_at",
                "updated_at",
                "customer_id",
                "visit_id",
            ],
            (
                (
                    n,
                    "post_service",
                    f"visit:{visit[0]}",
                    "",
                    20,
                    visit[7] + timedelta(hours=24),
                    visit[7] + timedelta(hours=24),
                    "done",
                    1,
                    rng.choice(["reached_satisfied", "reached_issue", "no_answer"]),
                    "",
                    now,
                    now,
                    visit[16],
                    visit[0],
                )
                for n, visit in enumerate(task_visits, 1)
            ),
        )
        agent = advisors[0]
        copy(
            "followups_callattempt",
            ["id", "started_at", "ended_at", "outcome", "notes", "agent_id", "task_id"],
            (
                (
                    n,
                    visit[7] + timedelta(hours=hours),
                    visit[7] + timedelta(hours=hours, minutes=3),
                    rng.choice(["reached_satisfied", "no_answer"]),
                    "",
                    agent,
                    n,
                )
                for n, visit, hours in (
                    (n, v, rng.uniform(20, 100)) for n, v in enumerate(task_visits, 1)
                )
            ),
        )
        categories = [
            "attitude",
            "overcharging",
            "long_wait",
            "product_quality",
            "promise_not_kept",
            "not_fixed_first_time",
            "warranty_dispute",
            "poor_after_sales",
            "other",
        ]
        complaint_rows = []
        for n, visit in enumerate(
            sorted(rng.sample(delivered_visits, n_complaints), key=lambda visit: visit[7]), 1
        ):
            received = visit[7] + timedelta(hours=rng.uniform(2, 100))
            acknowledged = received + timedelta(hours=rng.uniform(0.5, 30))
            resolved = received + timedelta(hours=rng.uniform(10, 200))
            done = resolved < now
            complaint_rows.append(
                (
                    n,
                    f"C-B-{n:07d}",
                    "phone",
                    rng.choice(categories),
                    "medium",
                    "bench",
                    "closed" if done else "acknowledged",
                    received,
                    received + timedelta(hours=8),
                    received + timedelta(hours=72),
                    min(acknowledged, now),
                    resolved if done else None,
                    "r" if done else "",
                    "people" if done else "",
                    "c" if done else "",
                    1 if done else 0,
                    0,
                    now,
                    now,
                    visit[16],
                    visit[0],
                    visit[17],
                )
            )
        copy(
            "complaints_complaint",
            [
                "id",
                "number",
                "channel",
                "category",
                "severity",
                "description",
                "status",
                "received_at",
                "first_response_due_at",
                "resolution_due_at",
                "acknowledged_at",
                "resolved_at",
                "resolution",
                "root_cause",
                "corrective_action",
                "resolution_round",
                "escalation_level",
                "created_at",
                "updated_at",
                "customer_id",
                "visit_id",
                "vehicle_id",
            ],
            complaint_rows,
        )
        with connection.cursor() as cursor:
            for table in [
                "customers_customer",
                "customers_vehicle",
                "visits_visit",
                "surveys_surveyresponse",
                "surveys_surveyinvitation",
                "followups_followuptask",
                "followups_callattempt",
                "complaints_complaint",
            ]:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
                cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute("SET session_replication_role = DEFAULT")
        self.stdout.write(
            f"{n_customers:,} customers, {n_vehicles:,} vehicles, {len(visit_rows):,} visits, "
            f"{len(response_rows):,} responses, {len(complaint_rows):,} complaints"
        )

    def _advisors(self, count):
        group = Group.objects.get(name=roles.ADVISOR)
        ids = []
        for n in range(count):
            user, _ = get_user_model().objects.get_or_create(username=f"bench-advisor-{n:02d}")
            user.groups.set([group])
            ids.append(user.pk)
        return ids

    # ------------------------------------------------------------------ timing

    def _time(self, today):
        manager, _ = get_user_model().objects.get_or_create(username="bench-manager")
        manager.groups.set([Group.objects.get(name=roles.MANAGER)])
        year_ago = today - timedelta(days=364)
        first = date(today.year - 10, 1, 1)  # before the first visit: all history
        cases = [
            (
                "summary",
                "12 months",
                f"/api/v1/reports/summary/?start={year_ago}&end={today}",
                floors.summary_sql,
                (year_ago, today),
            ),
            (
                "summary",
                "all history",
                f"/api/v1/reports/summary/?start={first}&end={today}",
                floors.summary_sql,
                (first, today),
            ),
            (
                "complaint-categories",
                "12 months",
                f"/api/v1/reports/complaint-categories/?start={year_ago}&end={today}",
                floors.categories_sql,
                (year_ago, today),
            ),
            (
                "complaint-categories",
                "all history",
                f"/api/v1/reports/complaint-categories/?start={first}&end={today}",
                floors.categories_sql,
                (first, today),
            ),
            (
                "churn",
                f"as of {today}",
                f"/api/v1/reports/churn/?as_of={today}",
                floors.churn_sql,
                (today,),
            ),
            (
                "churn",
                f"as of {year_ago}",
                f"/api/v1/reports/churn/?as_of={year_ago}",
                floors.churn_sql,
                (year_ago,),
            ),
            (
                "segments",
                f"as of {today}",
                f"/api/v1/reports/segments/?as_of={today}",
                floors.segments_sql,
                (today,),
            ),
            (
                "segments",
                f"as of {year_ago}",
                f"/api/v1/reports/segments/?as_of={year_ago}",
                floors.segments_sql,
                (year_ago,),
            ),
        ]
        write = self.stdout.write
        write("")
        write(
            "Report endpoints — PostgreSQL, whole request through Django (ms); floor = one hand-written SQL query"
        )
        write(f"{'endpoint':22} {'period':16} {'cold':>8} {'warm':>8} {'floor':>8} {'ratio':>7}")
        for endpoint, label, url, floor, params in cases:
            connection.close()  # a fresh connection: no plans, no session caches
            cache.clear()
            client = Client()
            client.force_login(manager)
            cold = self._request(client, url)
            # Request and floor side by side, in turns, so drift on a shared machine hits
            # both alike; at least WARM_RUNS of each, more for the quick ones.
            requests, floor_samples = [], []
            started = time.perf_counter()
            while len(requests) < WARM_RUNS or (
                len(requests) < MAX_RUNS and time.perf_counter() - started < SAMPLE_SECONDS
            ):
                requests.append(self._request(client, url))
                floor_samples.append(floor_time(floor, params))
            warm, floor_ms = statistics.median(requests), statistics.median(floor_samples)
            write(
                f"{endpoint:22} {label:16} {cold:8.0f} {warm:8.1f} {floor_ms:8.1f} "
                f"{warm / floor_ms:7.1f}×  (n={len(requests)})"
            )
        write("(goal: warm under 1,000 ms for 12 months, and within 3× of the floor)")
        write("")
        write("The dashboard page (/reports/, every tile and chart), whole request (ms)")
        for label, url in [
            ("12 months", "/reports/?preset=last_12_months"),
            ("this month", "/reports/?preset=this_month"),
        ]:
            connection.close()
            cache.clear()
            client = Client()
            client.force_login(manager)
            cold = self._request(client, url)
            warm = statistics.median(self._request(client, url) for _ in range(5))
            write(f"{'dashboard':22} {label:16} {cold:8.0f} {warm:8.0f}")

    def _time_writes(self):
        """What the change-logging triggers (followups/statelog.py, reports/figures.py) add to the
        writes they watch: each write done WRITES times through the ORM, in a transaction
        rolled back, with and without those triggers, in turns (ms per write, medians)."""
        tasks = list(
            FollowUpTask.objects.filter(
                kind=FollowUpTask.Kind.POST_SERVICE, visit__status=Visit.Status.DELIVERED
            ).select_related("visit")[:WRITES]
        )
        agent = get_user_model().objects.get(username="bench-manager")
        visits = list(Visit.objects.filter(status=Visit.Status.DELIVERED).order_by("-pk")[:WRITES])
        invitations = list(SurveyInvitation.objects.filter(sent_at__isnull=False)[:WRITES])

        def record_calls():
            for task in tasks:
                CallAttempt.objects.create(
                    task=task,
                    agent=agent,
                    started_at=task.visit.delivered_at + timedelta(hours=30),
                    ended_at=task.visit.delivered_at + timedelta(hours=30, minutes=3),
                    outcome=FollowUpTask.Outcome.REACHED_SATISFIED,
                )

        def promise_again():
            for visit in visits:
                visit.promised_at = visit.delivered_at
                visit.save()

        def complete_invitations():
            for invitation in invitations:
                invitation.status = SurveyInvitation.Status.COMPLETED
                invitation.save()

        write = self.stdout.write
        write("")
        write(f"Writes with and without the change-logging triggers (ms per write, {WRITES} each)")
        write(f"{'write':34} {'with':>8} {'without':>8} {'added':>8}")
        for label, action in [
            ("a call attempt recorded", record_calls),
            ("a delivered visit saved (promise)", promise_again),
            ("a survey invitation completed", complete_invitations),
        ]:
            timings = {True: [], False: []}
            for _ in range(5):
                for triggers in (True, False):
                    timings[triggers].append(_timed_write(action, triggers) / WRITES)
            with_, without = statistics.median(timings[True]), statistics.median(timings[False])
            write(f"{label:34} {with_:8.3f} {without:8.3f} {with_ - without:8.3f}")

    @staticmethod
    def _request(client, url) -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"{url}: {response.status_code} {response.content[:200]!r}")
        return elapsed


def _vin(serial: int) -> str:
    body = f"LSVAB12C0K{serial:07d}"
    return body[:8] + vin_check_digit(body) + body[9:]


WRITES = 200


def _timed_write(action, triggers: bool) -> float:
    with transaction.atomic():
        if not triggers:
            with connection.cursor() as cursor:
                # django-pgtrigger's: the change-logging triggers (shopcrm.triggers).
                cursor.execute(
                    "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                    "WHERE tgname LIKE 'pgtrigger%%'"
                )
                for table, name in cursor.fetchall():
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        started = time.perf_counter()
        action()
        elapsed = (time.perf_counter() - started) * 1000
        transaction.set_rollback(True)  # nothing written, the triggers back as they were
    return elapsed


# The machines are noisy: medians of at least 7 requests and 7 floors, taken in turns, and
# of up to 200 each for the quick endpoints (sampled for 3 s).
WARM_RUNS = 7
MAX_RUNS = 200
SAMPLE_SECONDS = 3


def floor_time(sql_for, params) -> float:
    sql, values = sql_for(*params)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql, values)
        cursor.fetchall()
        return (time.perf_counter() - started) * 1000
