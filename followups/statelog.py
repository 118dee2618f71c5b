"""What the vehicle and customer states read (followups.states), declared once: the
visit, vehicle and policy columns. The frames the states are computed from select exactly
these, and the change-logging triggers fire exactly when one of them changes (shopcrm.triggers:
the same declaration for PostgreSQL, through the migrations, and SQLite)."""

from customers.models import Vehicle
from shopcrm.triggers import LogTrigger
from visits.models import Visit

# A delivered visit's columns that move a state: whether and when it was delivered, whose
# vehicle and customer, its odometer.
VISIT_FIELDS = ["status", "delivered_at", "vehicle", "customer", "odometer_km"]
VEHICLE_FIELDS = ["registration_date"]  # average daily mileage counts from it
POLICY_FIELDS = ["service_interval_km", "service_interval_days"]  # the predicted service
DELIVERED = Visit.Status.DELIVERED.value


def _columns(model, names) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


def declare(*, log, policy) -> list[LogTrigger]:
    """The triggers that log into ``log`` (followups.models.StateChange) the vehicles and
    customers whose states a change moves; ``(NULL, NULL)``: everything."""
    table = log._meta.db_table
    visit_columns = _columns(Visit, VISIT_FIELDS)
    vehicle_columns = _columns(Vehicle, VEHICLE_FIELDS)
    policy_columns = _columns(policy, POLICY_FIELDS)

    def logs(*rows: str):
        return lambda sql: [
            f"INSERT INTO {table} (vehicle_id, customer_id) VALUES ({row})" for row in rows
        ]

    def delivered(*rows: str):
        return lambda sql: " OR ".join(f"{row}.status = '{DELIVERED}'" for row in rows)

    return [
        LogTrigger(
            "fu_state_visit_insert",
            Visit,
            "INSERT",
            logs("NEW.vehicle_id, NEW.customer_id"),
            delivered("NEW"),
        ),
        LogTrigger(
            "fu_state_visit_update",
            Visit,
            "UPDATE",
            logs("OLD.vehicle_id, OLD.customer_id", "NEW.vehicle_id, NEW.customer_id"),
            lambda sql: f"({delivered('OLD', 'NEW')(sql)}) AND ({sql.changed(visit_columns)})",
        ),
        LogTrigger(
            "fu_state_visit_delete",
            Visit,
            "DELETE",
            logs("OLD.vehicle_id, OLD.customer_id"),
            delivered("OLD"),
        ),
        LogTrigger("fu_state_visit_truncate", Visit, "TRUNCATE", logs("NULL, NULL")),
        LogTrigger(
            "fu_state_vehicle_update",
            Vehicle,
            "UPDATE",
            logs("NEW.id, NULL"),
            lambda sql: sql.changed(vehicle_columns),
        ),
        LogTrigger("fu_state_policy_insert", policy, "INSERT", logs("NULL, NULL")),
        LogTrigger(
            "fu_state_policy_update",
            policy,
            "UPDATE",
            logs("NULL, NULL"),
            lambda sql: sql.changed(policy_columns),
        ),
    ]
