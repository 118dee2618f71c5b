"""The benchmarks are run by hand (README, "Benchmarks"), never as tests; this only checks
that each still imports against the code it measures and parses its options, so a
refactoring cannot leave one broken until the day someone needs it."""

import importlib

import pytest

from benchmarks.__main__ import BENCHMARKS


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_each_benchmark_imports_and_parses_its_options(name):
    command = importlib.import_module(BENCHMARKS[name]).Command()
    parser = command.create_parser("python -m benchmarks", name)
    options = vars(parser.parse_args([]))
    assert "verbosity" in options
