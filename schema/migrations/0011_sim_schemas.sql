-- The simulator's schema lookup no longer copies every tool schema.
--
-- sim_tools held the input schema and annotations of each tool's latest tool-discovered
-- event, re-encoded: a second copy of every schema next to `tools`, written once per schema
-- change. Replaying a large log spent a fifth of its time on it. The projection now keeps
-- only the position of that event (sim_schemas); the schema is read from the event itself
-- when a call is canonicalised. `sim_tools` stays as a view with the same columns, for
-- Datasette and for queries written against it (the JSON is the event's, key order as sent).

CREATE TABLE sim_schemas (
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    position INTEGER NOT NULL,               -- the tool's latest tool-discovered event
    PRIMARY KEY (server, tool)
) WITHOUT ROWID;

INSERT INTO sim_schemas (server, tool, position) SELECT server, tool, position FROM sim_tools;

DROP TABLE sim_tools;

CREATE VIEW sim_tools AS
SELECT s.server AS server, s.tool AS tool,
       json_extract(e.payload, '$.input_schema') AS input_schema,
       coalesce(json_extract(e.payload, '$.annotations'), '{}') AS annotations,
       s.position AS position
FROM sim_schemas AS s JOIN events AS e ON e.position = s.position;
