-- Projections of LLM exchanges, embeddings, the tool graph and sampled sub-DAGs
-- (firefly/projections/graph.py).

-- One row per request to an OpenAI-compatible endpoint that was answered or failed.
CREATE TABLE llm_exchanges (
    position INTEGER PRIMARY KEY,            -- the llm-replied / llm-failed event
    time TEXT NOT NULL,
    run TEXT NOT NULL,
    purpose TEXT NOT NULL,                   -- judge-edges, embed-tools, ...
    operation TEXT NOT NULL,                 -- chat, embeddings
    request_hash TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    model TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error_class TEXT,
    message TEXT,
    finish_reason TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_ms REAL
);
CREATE INDEX llm_exchanges_purpose ON llm_exchanges(purpose, status);

-- One vector per (subject, embedder, subject version). The vector is kept as it was recorded
-- (little-endian float16 or float32 bytes) so the vector index rebuilds from this table.
CREATE TABLE embeddings (
    position INTEGER PRIMARY KEY,            -- the embedded event; also the vector index key
    subject TEXT NOT NULL,                   -- tool:<server>/<name>
    version TEXT NOT NULL,                   -- the tool's schema hash
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    dtype TEXT NOT NULL CHECK (dtype IN ('float16', 'float32')),
    vector BLOB NOT NULL,
    text_hash TEXT,
    time TEXT NOT NULL,
    UNIQUE (model, subject, version)
);

-- Candidate pairs (unordered; a sorts before b), with the best similarity any generator saw.
CREATE TABLE edge_candidates (
    a_server TEXT NOT NULL,
    a_name TEXT NOT NULL,
    b_server TEXT NOT NULL,
    b_name TEXT NOT NULL,
    similarity REAL NOT NULL,
    via TEXT NOT NULL DEFAULT '[]',          -- JSON: vector, server, schema
    position INTEGER NOT NULL,               -- the edge-candidates event that first proposed it
    PRIMARY KEY (a_server, a_name, b_server, b_name)
);

-- The latest verdict of each judge on each pair.
CREATE TABLE edge_verdicts (
    a_server TEXT NOT NULL,
    a_name TEXT NOT NULL,
    b_server TEXT NOT NULL,
    b_name TEXT NOT NULL,
    judge TEXT NOT NULL,
    a_hash TEXT NOT NULL,                    -- schema hashes the verdict was given for
    b_hash TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('a->b', 'b->a', 'both', 'none')),
    score_ab REAL NOT NULL,                  -- confidence that a -> b is an edge
    score_ba REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    request_hash TEXT,
    position INTEGER NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (a_server, a_name, b_server, b_name, judge)
);

-- Accepted, directed edges: source -> target, from the latest verdict on the pair.
CREATE TABLE edges (
    source_server TEXT NOT NULL,
    source_name TEXT NOT NULL,
    target_server TEXT NOT NULL,
    target_name TEXT NOT NULL,
    judge TEXT NOT NULL,
    score REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL,               -- the edge-judged event
    PRIMARY KEY (source_server, source_name, target_server, target_name)
);
CREATE INDEX edges_target ON edges(target_server, target_name);

-- Sampled sub-DAGs and their tools.
CREATE TABLE dags (
    dag_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    size INTEGER NOT NULL,
    edge_count INTEGER NOT NULL,
    scope TEXT NOT NULL,                     -- callable, all
    seed INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    sampler TEXT NOT NULL,
    tools TEXT NOT NULL,                     -- JSON [[server, name], ...] in topological order
    edges TEXT NOT NULL,                     -- JSON [[i, j], ...]
    time TEXT NOT NULL,
    run TEXT NOT NULL
);
CREATE INDEX dags_scope ON dags(scope, sampler, seed, idx);

CREATE TABLE dag_tools (
    dag_id TEXT NOT NULL,
    step INTEGER NOT NULL,                   -- index in the DAG's topological order
    server TEXT NOT NULL,
    name TEXT NOT NULL,
    schema_hash TEXT NOT NULL,
    PRIMARY KEY (dag_id, step)
);
CREATE INDEX dag_tools_tool ON dag_tools(server, name);
