"""python -m benchmarks <name> [options]: run one benchmark with the project's settings.

.venv/bin/python -m benchmarks sync --help
"""

import importlib
import os
import sys

BENCHMARKS = {
    "sync": "benchmarks.sync",
    "queue": "benchmarks.queue",
    "reports": "benchmarks.reports",
    "search": "benchmarks.search",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print(f"usage: python -m benchmarks {{{','.join(BENCHMARKS)}}} [options]", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django
    from django.core.management import call_command

    django.setup()
    command = importlib.import_module(BENCHMARKS[argv[0]]).Command()
    if "--help" in argv[1:] or "-h" in argv[1:]:
        command.print_help("python -m benchmarks", argv[0])
        return 0
    call_command(command, *argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
