-- The simulator's lookup projection over recorded calls (firefly/projections/simulator.py).

-- The latest input schema and annotations of every tool, as the log had them when each
-- call was applied (schema defaults are part of a call's canonical arguments).
CREATE TABLE sim_tools (
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    input_schema TEXT NOT NULL,              -- JSON
    annotations TEXT NOT NULL DEFAULT '{}',  -- JSON
    position INTEGER NOT NULL,               -- the tool-discovered event
    PRIMARY KEY (server, tool)
);

-- One row per real result (tool-called events without error_class: skipped calls and
-- protocol failures are not results). Several rows may share a key (a clock, a random
-- tool, or the same call in several worlds): all stay here; the simulator's rule chooses.
CREATE TABLE sim_calls (
    position INTEGER PRIMARY KEY,            -- the tool-called event's position
    key TEXT NOT NULL,                       -- hash of server, tool and canonical arguments
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,                 -- canonical JSON (defaults filled in, paths normalised)
    arguments_hash TEXT NOT NULL,            -- the recorded hash (what world-state effects are made of)
    state TEXT NOT NULL,                     -- the world it was observed in (effects on every server)
    server_state TEXT NOT NULL,              -- hash of the effects on this server only
    read_only INTEGER NOT NULL,
    effect INTEGER NOT NULL,                 -- a successful call that is not read-only: it changed the world
    content TEXT NOT NULL,                   -- JSON content blocks, as recorded
    structured_content TEXT,                 -- JSON
    is_error INTEGER NOT NULL,
    exploration_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    time TEXT NOT NULL
);
CREATE INDEX sim_calls_state ON sim_calls(key, state, position);
CREATE INDEX sim_calls_server_state ON sim_calls(key, server_state, position);
CREATE INDEX sim_calls_tool ON sim_calls(server, tool, key);
CREATE INDEX sim_calls_exploration ON sim_calls(exploration_id, step);

-- Results the llm mode's model wrote for calls never recorded (tool-simulated events);
-- the first one for a key and server state is reused.
CREATE TABLE sim_generated (
    position INTEGER PRIMARY KEY,            -- the tool-simulated event's position
    key TEXT NOT NULL,
    server_state TEXT NOT NULL,
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,                 -- canonical JSON
    content TEXT NOT NULL,
    structured_content TEXT,
    is_error INTEGER NOT NULL,
    model TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    neighbours TEXT NOT NULL DEFAULT '[]',   -- JSON: positions of the recorded calls shown to the model
    time TEXT NOT NULL,
    UNIQUE (key, server_state)
);
