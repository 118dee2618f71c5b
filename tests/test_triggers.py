"""The dialect helpers of shopcrm.triggers: what a trigger body says in each database."""

import sqlite3

from shopcrm.triggers import POSTGRESQL, SQLITE


def test_only_if_skips_the_query_on_postgresql_and_filters_it_on_sqlite():
    insert = "INSERT INTO log (x) SELECT s.x FROM src s"
    assert POSTGRESQL.only_if("NEW.kind = 'r'", insert, "s.x > NEW.n") == (
        f"IF NEW.kind = 'r' THEN {insert} WHERE s.x > NEW.n; END IF"
    )
    assert POSTGRESQL.only_if("NEW.kind = 'r'", "INSERT INTO log (x) SELECT NEW.n") == (
        "IF NEW.kind = 'r' THEN INSERT INTO log (x) SELECT NEW.n; END IF"
    )
    # SQLite has no IF in a trigger body: the same rows come out of one WHERE.
    body = "; ".join(
        [
            SQLITE.only_if("NEW.kind = 'r'", insert, "s.x > NEW.n"),
            SQLITE.only_if("NEW.kind = 'r'", "INSERT INTO log (x) SELECT NEW.n"),
        ]
    )
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE t (kind TEXT, n INTEGER); CREATE TABLE src (x INTEGER);"
        " CREATE TABLE log (x INTEGER); INSERT INTO src VALUES (1), (5), (9);"
    )
    trigger = f"CREATE TRIGGER t_ins AFTER INSERT ON t FOR EACH ROW BEGIN {body}; END"
    db.execute(trigger)
    db.execute("INSERT INTO t VALUES ('other', 0)")
    assert db.execute("SELECT x FROM log").fetchall() == []
    db.execute("INSERT INTO t VALUES ('r', 4)")
    assert sorted(db.execute("SELECT x FROM log").fetchall()) == [(4,), (5,), (9,)]
