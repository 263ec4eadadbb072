-- Projections of task events: synthesized tasks, verifier verdicts, splits, and what each
-- synthesizer did per exploration.

CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    exploration_id TEXT NOT NULL,
    dag_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('lookup', 'multi-hop', 'aggregate', 'state-change')),
    question TEXT NOT NULL,
    answer TEXT,                             -- JSON
    match TEXT NOT NULL,                     -- JSON: {"rule": ..., ...}
    trajectory TEXT NOT NULL,                -- JSON list of {step, server, tool, arguments}
    probe TEXT,                              -- JSON {server, tool, arguments, expected} or NULL
    provenance TEXT NOT NULL,                -- JSON list of {step, path, value}
    derivation TEXT NOT NULL,                -- JSON {"op": ...}
    calls INTEGER NOT NULL,
    servers INTEGER NOT NULL,
    hops INTEGER NOT NULL,
    synthesizer TEXT NOT NULL,
    template TEXT NOT NULL,
    verified INTEGER,                        -- 0/1: every verdict passed; NULL until verified
    split TEXT CHECK (split IN ('train', 'test')),
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX tasks_exploration ON tasks(exploration_id);
CREATE INDEX tasks_dag ON tasks(dag_id);
CREATE INDEX tasks_kind ON tasks(kind, verified);

CREATE TABLE verdicts (
    task_id TEXT NOT NULL,
    verifier TEXT NOT NULL,
    passed INTEGER NOT NULL,
    reasons TEXT NOT NULL,                   -- JSON list of strings
    params TEXT NOT NULL DEFAULT '{}',       -- JSON
    position INTEGER NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (task_id, verifier)
);
CREATE INDEX verdicts_verifier ON verdicts(verifier, passed);

CREATE TABLE syntheses (
    exploration_id TEXT NOT NULL,
    synthesizer TEXT NOT NULL,
    tasks INTEGER NOT NULL,
    candidates INTEGER NOT NULL,
    skipped TEXT NOT NULL,                   -- JSON: reason -> count
    position INTEGER NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (exploration_id, synthesizer)
);
