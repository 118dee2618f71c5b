"""The architecture's rules hold on the source (scripts/check_architecture.py): imports run
one way between apps, no two files import each other, no production function over 80 lines,
database-specific branches only in a few modules, and the apps never import the benchmarks."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_checker():
    spec = importlib.util.spec_from_file_location(
        "check_architecture", ROOT / "scripts" / "check_architecture.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_architecture_holds():
    assert load_checker().check() == []


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """It can fail: an upward import, a file pair importing each other, a long function, an
    import of the benchmarks, too many database-specific branches."""
    checker = load_checker()
    for app in ("customers", "visits"):
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
    (tmp_path / "customers" / "services.py").write_text("from visits import selectors\n")
    (tmp_path / "visits" / "selectors.py").write_text("from customers import services\n")
    body = "\n".join(f"    x = {n}" for n in range(85))
    (tmp_path / "visits" / "views.py").write_text(f"def long():\n{body}\n")
    (tmp_path / "visits" / "rules.py").write_text("from benchmarks.sync import Command\n")
    (tmp_path / "customers" / "queue.py").write_text(
        "from django.db import connection\n"
        + "".join(f"if connection.vendor == 'postgresql':\n    x = {n}\n" for n in range(9))
    )
    monkeypatch.setattr(checker, "ROOT", tmp_path)
    monkeypatch.setattr(checker, "LAYERS", ["customers", "visits"])
    problems = checker.check()
    assert any(p.startswith("layers: customers.services") for p in problems)
    assert any(p.startswith("cycle: customers.services and visits.selectors") for p in problems)
    assert any(p.startswith("length: visits.views.long") for p in problems)
    assert any(p.startswith("app cycle:") for p in problems)
    assert "benchmarks: visits.rules imports the benchmarks" in problems
    assert any(p.startswith("vendor branches: 9 > 8") for p in problems)
