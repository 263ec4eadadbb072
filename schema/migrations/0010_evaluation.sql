-- Projections of evaluation events: one row per evaluation, one row per episode.

CREATE TABLE evals (
    eval_id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,                     -- openai:<model>, oracle, null
    model TEXT,
    base_url TEXT NOT NULL DEFAULT '',
    split TEXT,                              -- train, test, or null for every verified task
    max_turns INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    simulator TEXT NOT NULL,
    tasks INTEGER NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',       -- JSON
    episodes INTEGER NOT NULL DEFAULT 0,     -- episodes recorded so far
    solved INTEGER NOT NULL DEFAULT 0,       -- episodes with reward 1
    started_at TEXT NOT NULL,
    last_episode_at TEXT,
    run TEXT NOT NULL
);

CREATE TABLE episodes (
    position INTEGER PRIMARY KEY,            -- the episode-recorded event's position
    eval_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    sample INTEGER NOT NULL,
    reward REAL NOT NULL,
    outcome TEXT NOT NULL,                   -- answered, unanswered, max-turns, llm-error
    answer TEXT,
    turns INTEGER NOT NULL,
    calls INTEGER NOT NULL,                  -- tool calls made
    bad_calls INTEGER NOT NULL,              -- malformed calls (unknown tool, arguments not an object ...)
    tool_errors INTEGER NOT NULL,            -- calls whose result was an error
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    env_ms REAL NOT NULL,
    error TEXT,
    messages TEXT NOT NULL,                  -- JSON: the conversation in OpenAI chat format
    tool_calls TEXT NOT NULL,                -- JSON: the calls made
    time TEXT NOT NULL,
    UNIQUE (eval_id, task_id, sample)
);
CREATE INDEX episodes_task ON episodes(task_id);
