"""Benchmarks of shopcrm, run by hand and never as timed tests (README, "Benchmarks").

Each module holds one benchmark as a Django management command class; ``python -m
benchmarks <name> [options]`` runs it with the project's settings. The app packages never
import anything from here."""
