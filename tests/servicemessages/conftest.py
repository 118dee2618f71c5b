from tests.api.conftest import dms, dms_user, fresh_throttle_counts  # noqa: F401
