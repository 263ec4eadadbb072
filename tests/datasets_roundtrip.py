"""Load the ``trl`` and ``hf`` exports in a folder with the ``datasets`` of the Python running
this file and check every value came back as written; prints one line per format.

    python tests/datasets_roundtrip.py EXPORT_DIR      # files named all-trl.jsonl, all-hf/

Run by tests/test_export_trainers.py with the suite's Python (datasets 5.x) and with datasets 3.6
in a venv the suite builds once per machine (tests/pinned_envs.py).
Imports only ``firefly.trainers.data`` (from the source tree), so that Python needs only datasets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import datasets  # noqa: E402

from firefly.trainers.data import load  # noqa: E402


def calls(row: dict) -> list[dict]:
    return [c["function"] for m in row["messages"] for c in (m.get("tool_calls") or [])]


def main(out: Path) -> None:
    written = {r["task_id"]: r for r in map(json.loads, (out / "all-trl.jsonl").read_text().splitlines())}
    trl = load(out / "all-trl.jsonl")
    assert {r["task_id"]: calls(r) for r in trl} == {k: calls(v) for k, v in written.items()}, "trl arguments"
    assert {r["task_id"]: r["tools"] for r in trl} == {k: v["tools"] for k, v in written.items()}, "trl tools"
    mapped = trl.map(lambda r: {"argument_types": [type(c["arguments"]).__name__ for c in calls(r)]})
    assert {t for r in mapped for t in r["argument_types"]} == {"dict"}, "map sees the arguments as objects"
    print(f"datasets {datasets.__version__}: trl {trl.num_rows} rows")
    plain = datasets.load_dataset(str(out / "all-hf"))  # the card alone, as `load_dataset(repo)` reads it
    hub = load(out / "all-hf")
    rows = {r["task_id"]: r for split in hub.values() for r in split}
    assert {name: s.num_rows for name, s in plain.items()} == {name: s.num_rows for name, s in hub.items()}
    assert {k: calls(v) for k, v in rows.items()} == {k: calls(written[k]) for k in rows}, "hf arguments"
    assert {k: v["tools"] for k, v in rows.items()} == {k: written[k]["tools"] for k in rows}, "hf tools"
    labels = {k: v["label"] for k, v in rows.items()}
    print(f"datasets {datasets.__version__}: hf {len(rows)} rows; labels {json.dumps(labels, sort_keys=True)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
