-- Projections of exploration events: one row per exploration, one row per recorded call.

CREATE TABLE explorations (
    exploration_id TEXT PRIMARY KEY,
    dag_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    tools TEXT NOT NULL,                     -- JSON list of server/name in walk order
    status TEXT NOT NULL,                    -- running, finished, failed
    calls INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    chained INTEGER NOT NULL DEFAULT 0,      -- successful calls fed by an earlier result
    servers INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    run TEXT NOT NULL
);
CREATE INDEX explorations_dag ON explorations(dag_id);
CREATE INDEX explorations_status ON explorations(status);

CREATE TABLE calls (
    position INTEGER PRIMARY KEY,            -- the tool-called event's position
    exploration_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,                 -- JSON (virtual paths)
    arguments_hash TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]',      -- JSON: arguments fed by earlier results
    chained INTEGER NOT NULL DEFAULT 0,
    result_text TEXT,                        -- the text blocks joined (for reading and search)
    content TEXT NOT NULL,                   -- JSON content blocks
    structured_content TEXT,                 -- JSON
    is_error INTEGER NOT NULL,
    error_class TEXT,
    error TEXT,
    ok INTEGER NOT NULL,                     -- a result that is not an error
    latency_ms REAL NOT NULL,
    result_bytes INTEGER NOT NULL,
    truncated INTEGER NOT NULL,
    read_only INTEGER NOT NULL,
    state TEXT NOT NULL,
    time TEXT NOT NULL,
    UNIQUE (exploration_id, step, attempt)
);
CREATE INDEX calls_tool ON calls(server, tool);
CREATE INDEX calls_lookup ON calls(server, tool, arguments_hash);
