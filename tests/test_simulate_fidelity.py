"""`firefly simulate fidelity`: hold-out, per-server scores per mode, the CLI table."""

from __future__ import annotations

import random

import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.simulator.fidelity import fidelity

from .sim_fixtures import Walk, notes_world


def more_calls(store, n: int = 20) -> None:
    """Calls with near neighbours (so nearest has something to find) and duplicates."""
    rng = random.Random(7)
    for i in range(n):
        w = Walk(store, f"xf{i}")
        a, b = rng.randint(0, 5), rng.randint(0, 5)
        w.call("calc", "add", {"a": a, "b": b}, str(a + b), structured={"sum": a + b})
        w.call("notes", "read_note", {"path": f"/workspace/notes/n{i % 7}.md"}, f"note {i % 7}")
    store.catch_up()


def expected_strict_answers(store, held: set[int]) -> int:
    """Held-out calls that another kept result answers: same key, same world or server state."""
    count = 0
    for position, key, state, server_state in store.conn.execute("SELECT position, key, state, server_state FROM sim_calls"):
        if position not in held:
            continue
        count += any(p not in held for (p,) in store.conn.execute(
            "SELECT position FROM sim_calls WHERE key = ? AND (state = ? OR server_state = ?)", (key, state, server_state)))
    return count


def test_fidelity_scores_each_mode_per_server(store):
    notes_world(store)
    more_calls(store)
    report = fidelity(store, holdout=0.3, seed=3, modes=("strict", "nearest"))
    total = store.conn.execute("SELECT count(*) FROM sim_calls").fetchone()[0]
    assert report.recorded == total and report.held_out == round(0.3 * total)
    strict, nearest = report.total("strict"), report.total("nearest")
    assert strict.held_out == nearest.held_out == report.held_out
    assert {s for m, s in report.scores} == {"calc", "notes"}
    rows = store.conn.execute("SELECT position FROM sim_calls ORDER BY position").fetchall()
    held = {p for (p,) in random.Random(3).sample(rows, report.held_out)}
    assert strict.answered == expected_strict_answers(store, held) > 0
    assert strict.exact <= strict.answered < report.held_out  # some held-out calls were recorded only once
    assert nearest.answered >= strict.answered and nearest.exact >= strict.exact
    assert strict.mean_similarity is not None and 0 <= strict.mean_similarity <= nearest.mean_similarity <= 1
    # the same seed gives the same report; the lookup itself was not changed
    again = fidelity(store, holdout=0.3, seed=3, modes=("strict", "nearest"))
    assert again.summary() == report.summary()
    assert store.conn.execute("SELECT count(*) FROM sim_calls").fetchone()[0] == total


def test_fidelity_cli_prints_a_table(store, db_path):
    notes_world(store)
    more_calls(store, 6)
    result = CliRunner().invoke(app, ["simulate", "fidelity", "--db", str(db_path), "--holdout", "0.25", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "simulator fidelity" in result.output and "exact rate" in result.output and "nearest" in result.output
    bad = CliRunner().invoke(app, ["simulate", "fidelity", "--db", str(db_path), "--holdout", "1.5"])
    assert bad.exit_code == 1 and "between 0 and 1" in bad.output
    bad = CliRunner().invoke(app, ["simulate", "fidelity", "--db", str(db_path), "--mode", "psychic"])
    assert bad.exit_code == 2 and "psychic" in bad.output  # a choice option: refused by the parser


def test_fidelity_of_an_empty_log(store):
    assert fidelity(store, holdout=0.5).held_out == 0
    with pytest.raises(ValueError):
        fidelity(store, holdout=0)
