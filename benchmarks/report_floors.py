"""Hand-written SQL for each report endpoint: the same figures in one query each, the floor
the benchmark compares the endpoints with (benchmarks.reports). Not used by the app."""

from datetime import date

from shopcalendar.rules import end_of, start_of

TZ = "Asia/Shanghai"
REACHED = "('reached_satisfied', 'reached_issue')"
REPAIRS = "('repair', 'warranty')"


def _window(start: date, end: date) -> dict:
    return {"since": start_of(start), "until": end_of(end)}


def summary_sql(start: date, end: date):
    dims = ", ".join(
        f"avg((r.dimension_scores->>'{d}')::float) AS {d}"
        for d in ["reliability", "responsiveness", "assurance", "empathy", "tangibles"]
    )
    sql = f"""
WITH v AS (SELECT id, vehicle_id, service_type, first_promised_at, delivered_at, by_appointment
             FROM visits_visit
            WHERE status = 'delivered' AND delivered_at >= %(since)s AND delivered_at < %(until)s),
vf AS (SELECT count(*) AS visits,
              count(*) FILTER (WHERE first_promised_at IS NOT NULL) AS promised,
              count(*) FILTER (WHERE delivered_at <= first_promised_at) AS on_time,
              count(*) FILTER (WHERE by_appointment) AS by_appointment,
              count(*) FILTER (WHERE service_type IN {REPAIRS}) AS repairs,
              count(*) FILTER (WHERE service_type IN {REPAIRS} AND EXISTS (
                  SELECT 1 FROM visits_visit c WHERE c.vehicle_id = v.vehicle_id
                     AND c.service_type IN {REPAIRS} AND c.checked_in_at > v.delivered_at
                     AND c.checked_in_at <= v.delivered_at + interval '30 days')) AS comebacks,
              count(*) FILTER (WHERE EXISTS (
                  SELECT 1 FROM followups_callattempt a
                    JOIN followups_followuptask t ON t.id = a.task_id
                   WHERE t.visit_id = v.id AND t.kind = 'post_service' AND a.outcome IN {REACHED}
                     AND a.ended_at <= v.delivered_at + interval '72 hours')) AS contacted
         FROM v),
rf AS (SELECT count(*) AS responses, avg(r.csi) AS csi, count(*) FILTER (WHERE r.is_alert) AS alerts,
              count(*) FILTER (WHERE r.nps_class = 'promoter') AS promoters,
              count(*) FILTER (WHERE r.nps_class = 'detractor') AS detractors,
              count(*) FILTER (WHERE r.nps_class <> '') AS nps_answered, {dims}
         FROM surveys_surveyresponse r JOIN v ON v.id = r.visit_id),
inv AS (SELECT count(*) AS sent, count(*) FILTER (WHERE i.status = 'completed') AS completed
          FROM surveys_surveyinvitation i JOIN v ON v.id = i.visit_id WHERE i.sent_at IS NOT NULL),
tf AS (SELECT count(*) AS due, count(*) FILTER (WHERE outcome IN {REACHED}) AS reached
         FROM followups_followuptask
        WHERE kind = 'post_service' AND due_at >= %(since)s AND due_at < %(until)s),
cf AS (SELECT count(*) AS complaints,
              count(*) FILTER (WHERE first_response_due_at <= now() OR acknowledged_at <= first_response_due_at) AS r_judged,
              count(*) FILTER (WHERE acknowledged_at <= first_response_due_at) AS r_met,
              count(*) FILTER (WHERE resolution_due_at <= now() OR resolved_at <= resolution_due_at) AS s_judged,
              count(*) FILTER (WHERE resolved_at <= resolution_due_at) AS s_met
         FROM complaints_complaint WHERE received_at >= %(since)s AND received_at < %(until)s),
rs AS (SELECT avg(extract(epoch FROM resolved_at - received_at)) / 3600 AS mean_hours
         FROM complaints_complaint WHERE resolved_at >= %(since)s AND resolved_at < %(until)s)
SELECT * FROM vf, rf, inv, tf, cf, rs"""
    return sql, _window(start, end)


def categories_sql(start: date, end: date):
    sql = """SELECT category, count(*) AS n,
                    sum(count(*)) OVER (ORDER BY count(*) DESC, category) / sum(count(*)) OVER () AS cumulative
               FROM complaints_complaint
              WHERE received_at >= %(since)s AND received_at < %(until)s
              GROUP BY category ORDER BY n DESC, category"""
    return sql, _window(start, end)


def _last_per_vehicle() -> str:
    return f"""SELECT DISTINCT ON (v.vehicle_id) v.vehicle_id, v.customer_id, v.odometer_km,
                      (v.delivered_at AT TIME ZONE '{TZ}')::date AS last_day, h.registration_date
                 FROM visits_visit v JOIN customers_vehicle h ON h.id = v.vehicle_id
                WHERE v.status = 'delivered' AND v.delivered_at < %(until)s
                ORDER BY v.vehicle_id, v.delivered_at DESC, v.id DESC"""


def churn_sql(as_of: date):
    sql = f"""
WITH lv AS (SELECT customer_id, (max(delivered_at) AT TIME ZONE '{TZ}')::date AS last_day
              FROM visits_visit WHERE status = 'delivered' AND delivered_at < %(until)s
             GROUP BY customer_id),
veh AS ({_last_per_vehicle()}),
due AS (SELECT customer_id, min(last_day + LEAST(180, CASE
                   WHEN registration_date IS NOT NULL AND odometer_km > 0 AND last_day - registration_date > 0
                   THEN floor(5000 / (odometer_km::float / (last_day - registration_date)))::int
                   ELSE 180 END)) AS due
          FROM veh GROUP BY customer_id),
c AS (SELECT %(as_of)s::date - lv.last_day AS since, due.due
        FROM lv LEFT JOIN due USING (customer_id)),
cohort AS (SELECT customer_id, max(delivered_at) AS last FROM visits_visit
            WHERE status = 'delivered' AND delivered_at >= %(cohort_start)s AND delivered_at < %(cohort_end)s
            GROUP BY customer_id)
SELECT count(*) AS base,
       count(*) FILTER (WHERE since > 365) AS lapsed,
       count(*) FILTER (WHERE since <= 365 AND (since > 180 OR %(as_of)s::date - due > 30)) AS at_risk,
       (SELECT count(*) FILTER (WHERE EXISTS (
                 SELECT 1 FROM visits_visit v WHERE v.customer_id = cohort.customer_id
                    AND v.status = 'delivered' AND v.delivered_at > cohort.last
                    AND v.delivered_at < %(until)s))::float / NULLIF(count(*), 0)
          FROM cohort) AS retention_13m
  FROM c"""
    month = as_of.month - 13
    year = as_of.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return sql, {
        "as_of": as_of,
        "until": end_of(as_of),
        "cohort_start": start_of(first),
        "cohort_end": start_of(following),
    }


def segments_sql(as_of: date):
    sql = f"""
WITH last AS ({_last_per_vehicle()}),
counts AS (SELECT vehicle_id, count(*) AS n FROM visits_visit
            WHERE status = 'delivered' AND delivered_at < %(until)s GROUP BY vehicle_id),
d AS (SELECT counts.n, last.registration_date,
             CASE WHEN last.registration_date IS NOT NULL AND last.odometer_km IS NOT NULL
                       AND last.last_day - last.registration_date > 0
                  THEN last.odometer_km::float / (last.last_day - last.registration_date) END AS daily
        FROM last JOIN counts USING (vehicle_id)),
q AS (SELECT daily FROM d
       WHERE daily BETWEEN 5 AND 500 AND n >= 4
         AND registration_date <= (%(as_of)s::date - interval '3 months')::date)
SELECT (SELECT count(*) FROM d) AS vehicles, count(*) AS qualified,
       count(*) FILTER (WHERE daily >= 5 AND daily < 50) AS b1,
       count(*) FILTER (WHERE daily >= 50 AND daily <= 150) AS b2,
       count(*) FILTER (WHERE daily > 150 AND daily <= 300) AS b3,
       count(*) FILTER (WHERE daily > 300 AND daily <= 500) AS b4
  FROM q"""
    return sql, {"as_of": as_of, "until": end_of(as_of)}
