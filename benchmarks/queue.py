"""Benchmark the call-centre queue (a benchmark, never a timed test).

Loads 50,000 due follow-up tasks into PostgreSQL, then 20 agents, each on its own database
connection, press "next call" and record an outcome until the queue is empty. Prints claims
per second, claim latency p50/p95/p99 and the number of double claims (must be 0). It empties
the follow-up tables, so it wants a database whose name ends in "_bench" (or --force).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/shopcrm_bench
    .venv/bin/python manage.py migrate && .venv/bin/python -m benchmarks queue
"""

import multiprocessing
import os
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from followups import services
from followups.models import CallAttempt, FollowUpTask
from shopcalendar.models import ShopCalendar
from shopcrm import roles


class Command(BaseCommand):
    help = 'Benchmark "next call": N due tasks, M concurrent agents (empties the follow-up tables).'

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=50_000)
        parser.add_argument("--agents", type=int, default=20)
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, tasks, agents, force, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The queue benchmark needs PostgreSQL: set DATABASE_URL.")
        # Measure what production runs: no DEBUG query log on every statement.
        settings.DEBUG = False
        name = connection.settings_dict["NAME"]
        if not name.endswith("_bench") and not force:
            raise CommandError(
                f"The queue benchmark empties tables; use a *_bench database (not {name}) or --force."
            )
        now = timezone.make_aware(
            datetime.combine(timezone.localdate(), clock(10, 0)), timezone.get_default_timezone()
        )
        calendar = ShopCalendar.current()
        calendar.contact_start, calendar.contact_end = clock(0, 0), clock(23, 59)
        calendar.save()
        self._load(tasks, now)
        users = self._agents(agents)

        # One process per agent, each with its own connection: what 20 agents' browsers
        # sending requests to the web processes amount to (and no GIL between them).
        connection.close()
        context = multiprocessing.get_context("fork")
        started = time.perf_counter()
        with context.Pool(len(users)) as pool:
            results = pool.map(_agent_loop, [(user.pk, now, len(users)) for user in users])
        elapsed = time.perf_counter() - started
        latencies = [ms for mine, _ in results for ms in mine]
        claimed = [pk for _, mine in results for pk in mine]

        doubles = sum(count - 1 for count in Counter(claimed).values() if count > 1)
        attempts_per_task = Counter(CallAttempt.objects.values_list("task_id", flat=True))
        recorded_twice = sum(1 for count in attempts_per_task.values() if count > 1)
        left = FollowUpTask.objects.filter(status=FollowUpTask.Status.PENDING).count()
        quantiles = statistics.quantiles(latencies, n=100)
        write = self.stdout.write
        write("")
        write(
            f"Call queue benchmark — PostgreSQL, {len(users)} agents (own connections), {os.cpu_count()} cores"
        )
        write(f"tasks claimed and completed   {len(claimed):>10,}  (left pending: {left})")
        write(f"elapsed                       {elapsed:>10.1f} s")
        write(f"claims per second             {len(claimed) / elapsed:>10,.0f}")
        write(f"claim latency p50             {quantiles[49]:>10.1f} ms")
        write(f"claim latency p95             {quantiles[94]:>10.1f} ms   (goal: under 25 ms)")
        write(f"claim latency p99             {quantiles[98]:>10.1f} ms")
        write(
            f"double claims                 {doubles:>10}   (tasks with two recorded dials: {recorded_twice})"
        )

    def _load(self, count: int, now) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE followups_callattempt, followups_followuptask, "
                "followups_historicalfollowuptask RESTART IDENTITY CASCADE"
            )
        customer_ids = list(Customer.objects.values_list("pk", flat=True)[:2000])
        if not customer_ids:
            customers = [Customer(name=f"排队客户{n}", phone=f"+8613{n:09d}") for n in range(2000)]
            Customer.objects.bulk_create(customers)
            customer_ids = [c.pk for c in customers]
        tasks = [
            FollowUpTask(
                kind=FollowUpTask.Kind.POST_SERVICE,
                source_key=f"bench:{n}",
                customer_id=customer_ids[n % len(customer_ids)],
                priority=(20, 40, 60)[n % 3],
                due_at=now - timedelta(minutes=n % 600),
                next_attempt_at=now - timedelta(minutes=n % 600),
                expires_at=now + timedelta(days=3),
            )
            for n in range(count)
        ]
        FollowUpTask.objects.bulk_create(tasks, batch_size=5000)
        # Start from a settled database: the load's dead rows vacuumed and its dirty pages
        # written out, so the run does not pay for the load (a checkpoint's full-page
        # writes in the middle of the run would).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE followups_followuptask")
            cursor.execute("CHECKPOINT")
        self.stdout.write(f"Loaded {count:,} due tasks.")

    def _agents(self, count: int) -> list:
        group = Group.objects.get(name=roles.AGENT)
        users = []
        for n in range(count):
            user, _created = get_user_model().objects.get_or_create(username=f"bench-agent-{n:02d}")
            user.groups.set([group])
            users.append(user)
        return users


def _agent_loop(args) -> tuple[list[float], list[int]]:
    """One agent: press "next call", record an outcome, until the queue is empty."""
    user_id, now, _agents = args
    connection.close()  # a fresh connection of this process's own
    agent = get_user_model().objects.get(pk=user_id)
    latencies, claimed = [], []
    while True:
        started = time.perf_counter()
        task = services.task_claim_next(agent=agent, now=now)
        latencies.append((time.perf_counter() - started) * 1000)
        if task is None:
            break
        claimed.append(task.pk)
        services.task_record_outcome(
            task=task, agent=agent, outcome=FollowUpTask.Outcome.REACHED_SATISFIED, now=now
        )
    connection.close()
    return latencies, claimed
