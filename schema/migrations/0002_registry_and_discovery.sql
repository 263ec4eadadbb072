-- Projections of the registry and discovery events.

CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',      -- JSON
    version TEXT,
    status TEXT NOT NULL DEFAULT 'running',  -- running, ok, failed, interrupted
    message TEXT,
    summary TEXT,                            -- JSON
    started_at TEXT NOT NULL,
    finished_at TEXT
);

CREATE TABLE servers (
    name TEXT PRIMARY KEY,
    transport TEXT NOT NULL,                 -- stdio, http, catalog
    callable INTEGER NOT NULL,               -- 0 for catalog servers
    status TEXT NOT NULL,                    -- registered, connected, failed, removed, catalog
    command TEXT,                            -- command line (placeholders, no secrets)
    url TEXT,
    env_names TEXT NOT NULL DEFAULT '[]',    -- JSON list of variable names (values never)
    header_names TEXT NOT NULL DEFAULT '[]',
    source TEXT,
    config_hash TEXT,
    config_version INTEGER NOT NULL DEFAULT 0, -- registry changes so far (next event's version)
    title TEXT,
    overview TEXT,
    labels TEXT NOT NULL DEFAULT '[]',
    server_name TEXT,                        -- serverInfo.name
    server_version TEXT,
    protocol_version TEXT,
    capabilities TEXT,                       -- JSON
    instructions TEXT,
    tools INTEGER NOT NULL DEFAULT 0,        -- tools currently listed
    last_error_class TEXT,
    last_error TEXT,
    registered_at TEXT NOT NULL,
    first_connected_at TEXT,
    last_connected_at TEXT
);

CREATE TABLE tools (
    server TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT,
    description TEXT,
    input_schema TEXT NOT NULL,              -- JSON
    output_schema TEXT,                      -- JSON
    annotations TEXT NOT NULL DEFAULT '{}',  -- JSON
    schema_hash TEXT NOT NULL,
    schema_valid INTEGER NOT NULL,
    schema_errors TEXT NOT NULL DEFAULT '[]',
    callable INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    versions INTEGER NOT NULL DEFAULT 1,     -- schema versions seen
    stream_version INTEGER NOT NULL DEFAULT 0, -- changes and removals so far (next event's version)
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (server, name)
);
CREATE INDEX tools_callable ON tools(callable, removed);

-- One row per schema change of a tool: schema drift over time.
CREATE TABLE tool_versions (
    position INTEGER PRIMARY KEY,            -- the event's position
    server TEXT NOT NULL,
    name TEXT NOT NULL,
    change TEXT NOT NULL,                    -- added, changed, removed
    schema_hash TEXT NOT NULL,
    previous_hash TEXT,
    time TEXT NOT NULL,
    run TEXT NOT NULL
);
CREATE INDEX tool_versions_tool ON tool_versions(server, name);

-- Every error event of every stage, for faceting.
CREATE TABLE errors (
    position INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    run TEXT NOT NULL,
    stage TEXT NOT NULL,                     -- discover, explore, ...
    server TEXT,
    tool TEXT,
    error_class TEXT NOT NULL,
    message TEXT NOT NULL
);
