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
