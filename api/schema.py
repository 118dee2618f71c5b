"""drf-spectacular post-processing: make the schema say what the sync endpoints enforce."""

from shopcrm.sync import MAX_RECORDS

SYNC_RECORDS = (
    "CustomerSyncRecordRequest",
    "VehicleSyncRecordRequest",
    "VisitSyncRecordRequest",
    "WorkItemSyncRecordRequest",
    "SurveyResponseSyncRecordRequest",
    "AppointmentSyncRecordRequest",
)


def sync_contract(result, generator, request, public):
    """Sync bodies hold 1..1000 records, and a record with an unknown field is refused."""
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/sync/"):
            continue
        body = operations["post"]["requestBody"]["content"]["application/json"]["schema"]
        body["minItems"] = 1
        body["maxItems"] = MAX_RECORDS
    schemas = result.get("components", {}).get("schemas", {})
    for name in SYNC_RECORDS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
