-- Actions: a task whose label is the call it asks for (kind 'action', match rule 'called'),
-- for an effect whose reply says nothing a question could ask and whose change no read
-- observed (a player, a planner, a recorder of thoughts). The tasks projection's CHECK on
-- kind (0006) takes it.
--
-- Done as 0015 did its CHECK: the table's definition is edited in place under
-- writable_schema (https://sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
-- Schema Changes"); the new CHECK admits every stored row, so no row is read or written.
PRAGMA writable_schema=ON;

UPDATE sqlite_schema
SET sql = replace(sql, 'kind IN (''lookup'', ''multi-hop'', ''aggregate'', ''state-change'')',
                       'kind IN (''lookup'', ''multi-hop'', ''aggregate'', ''state-change'', ''action'')')
WHERE type = 'table' AND name = 'tasks' AND sql NOT LIKE '%''action''%';

-- reload this connection's schema (and turn writable_schema off)
PRAGMA writable_schema=RESET;

-- any DDL bumps the schema cookie: other connections see the new CHECK from their next statement
CREATE TABLE _schema_cookie_bump (x);

DROP TABLE _schema_cookie_bump;
