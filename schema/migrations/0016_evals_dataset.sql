-- An evaluation recorded outside the database its tasks come from (a dataset on read-only
-- media, firefly eval --record-to) names that dataset: its path and, for a packed file,
-- its content hash (eval-started's dataset and dataset_hash; empty for tasks in this file).

ALTER TABLE evals ADD COLUMN dataset TEXT NOT NULL DEFAULT '';
ALTER TABLE evals ADD COLUMN dataset_hash TEXT NOT NULL DEFAULT '';
