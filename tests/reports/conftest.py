# The randomised shop of the correctness module, for the other report tests too.
from tests.reports.test_correctness import reader, shop  # noqa: F401
