-- What `firefly pack` writes into a shipped dataset file (empty in a working database).
-- Neither table is a projection: both describe the file itself, not the log.

-- One row per fact about the packed dataset: counts, versions, run options, content hash.
CREATE TABLE dataset (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL CHECK (json_valid(value)),  -- JSON
    description TEXT NOT NULL DEFAULT ''
);

-- Files that live beside a working database (the usearch vector indexes and their
-- descriptions), embedded so that one .db is the whole dataset. Opening the file writes
-- any that are missing back beside it (firefly/pack.py::restore_files).
CREATE TABLE dataset_files (
    name TEXT PRIMARY KEY,                    -- suffix after "<db>.", e.g. tools.usearch
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,                     -- sha256:<hex> of the bytes
    content BLOB NOT NULL
);

-- What the tasks table's page needs to stay fast over many tasks (datasette_plugins/
-- metadata.py): its sort order and its default facets (kind and verified are covered by
-- tasks_kind from 0006_tasks.sql).
CREATE INDEX tasks_created_at ON tasks(created_at);
CREATE INDEX tasks_split ON tasks(split);
CREATE INDEX tasks_verified ON tasks(verified);
CREATE INDEX tasks_synthesizer ON tasks(synthesizer);
CREATE INDEX tasks_hops ON tasks(hops);
