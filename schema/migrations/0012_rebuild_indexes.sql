-- Indexes a rebuild builds again once the replay is done (see Store.rebuild).
--
-- A projection may name secondary indexes its own writes never read; a rebuild drops them
-- before replaying the log (maintaining them row by row is most of the cost of some tables)
-- and creates them again at the end, which sorts once. Their definitions wait here while
-- they are dropped, so a rebuild that is interrupted loses none: the next open of the
-- database creates them again.
CREATE TABLE _rebuild_indexes (
    name TEXT PRIMARY KEY,
    sql TEXT NOT NULL                        -- the CREATE INDEX statement, from sqlite_master
);
