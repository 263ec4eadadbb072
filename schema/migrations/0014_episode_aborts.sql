-- Episodes an evaluation could not play because the model's endpoint was down
-- (episode-aborted events): not scored, played again by the next run of the evaluation.
-- One row per abort; an episode recorded later for the same (eval_id, task_id, sample)
-- supersedes its aborts.

CREATE TABLE episode_aborts (
    position INTEGER PRIMARY KEY,            -- the episode-aborted event's position
    eval_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    sample INTEGER NOT NULL,
    error_class TEXT NOT NULL,               -- connection-error, timeout, http-error
    status INTEGER,                          -- HTTP status, when there was one
    error TEXT NOT NULL,
    turns INTEGER NOT NULL,                  -- turns completed before the failure
    time TEXT NOT NULL,
    run TEXT NOT NULL
);
CREATE INDEX episode_aborts_eval ON episode_aborts(eval_id, task_id, sample);
