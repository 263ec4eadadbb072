-- Probe calls: a read-only call made right after an effectful one to observe its effect.
-- calls.probe_of is the step of the effectful call the probe checks (NULL for other calls).

ALTER TABLE calls ADD COLUMN probe_of INTEGER;
CREATE INDEX calls_probe ON calls(exploration_id, probe_of) WHERE probe_of IS NOT NULL;
