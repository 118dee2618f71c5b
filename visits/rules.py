"""Rules about visits that reports and sweeps share (METRICS.md, DESIGN.md "visits").

A comeback: a repair or warranty visit of the same vehicle checked in within 30 days after
a delivered repair or warranty visit (the fixed-first-visit rate counts the repairs not
followed by one)."""

from datetime import timedelta

from .models import ServiceType

REPAIR_TYPES = (ServiceType.REPAIR, ServiceType.WARRANTY)
COMEBACK_WINDOW = timedelta(days=30)
