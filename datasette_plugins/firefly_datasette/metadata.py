"""Titles, descriptions, column descriptions, default facets and sort orders for every
firefly table (``get_metadata``), and canned queries for the common questions
(``canned_queries``).

Both apply to databases that hold a firefly log (an ``events`` table), whatever their file
name. A table missing from :data:`TABLES` (one added by a newer migration) still gets a
title, and a description taken from the comment above its ``CREATE TABLE`` in
``schema/migrations/``.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import Any

from datasette import hookimpl

DATABASE = {
    "title": "firefly dataset",
    "description": (
        "Verified tool-calling data from real MCP servers. Every table is a projection of the append-only"
        " `events` log. Tool results and model text are untrusted and shown as text."
    ),
}

# column descriptions shared by several tables
_POSITION = "position of the event in the log this row comes from"
_TIME = "UTC time of the event (ISO 8601)"
_RUN = "the run (command) that wrote the event; see runs"

TABLES: dict[str, dict[str, Any]] = {
    "events": {
        "title": "Event log",
        "description": "Every fact firefly recorded, in order. Append-only: the database rejects UPDATE and DELETE.",
        "sort_desc": "position",
        "facets": ["type"],
        "columns": {
            "position": "global order of the log",
            "id": "ULID: sortable, unique across workers (logs merge by it)",
            "type": "event type (docs/events.md)",
            "stream": "the entity the event belongs to, e.g. tool:git/git_log",
            "time": "UTC time it was appended",
            "run": _RUN,
            "idempotency_key": "a second event with this key is not written (the same fact recorded twice)",
            "payload": "the event as JSON",
        },
    },
    "runs": {
        "title": "Runs",
        "description": "One row per command that wrote to the log, with its options and summary.",
        "sort_desc": "started_at",
        "facets": ["command", "status"],
        "columns": {
            "run_id": "the run's id (in every event's envelope)",
            "command": "the CLI command (discover, explore, ...)",
            "options": "options it ran with (JSON, no secrets)",
            "version": "firefly's version",
            "status": "running, ok, failed or interrupted",
            "message": "why it failed",
            "summary": "counts it reported (JSON)",
            "started_at": "UTC start", "finished_at": "UTC end",
        },
    },
    "servers": {
        "title": "MCP servers",
        "description": "The server registry and what discovery saw of each server. Secret values are never stored (names only).",
        "sort": "name",
        "facets": ["status", "transport", "callable"],
        "columns": {
            "name": "registry name", "transport": "stdio, http or catalog", "callable": "1 if firefly can call it",
            "status": "registered, connected, failed, removed or catalog",
            "command": "command line (placeholders, no secrets)", "url": "streamable HTTP endpoint",
            "env_names": "environment variable names (values never)", "header_names": "HTTP header names (values never)",
            "source": "where the entry came from", "config_hash": "hash of the configuration as recorded",
            "config_version": "registry changes so far", "title": "catalog title", "overview": "catalog overview",
            "labels": "catalog labels (JSON)", "server_name": "serverInfo.name as the server reports it",
            "server_version": "serverInfo.version", "protocol_version": "negotiated MCP protocol version",
            "capabilities": "declared capabilities (JSON)", "instructions": "the server's instructions (server text)",
            "tools": "tools currently listed", "last_error_class": "class of the last failure",
            "last_error": "the last failure's message", "registered_at": "UTC", "first_connected_at": "UTC",
            "last_connected_at": "UTC",
        },
    },
    "tools": {
        "title": "Tools",
        "description": "Every tool seen, its current schema and annotations. Descriptions are server text.",
        "sort": "server",
        "facets": ["server", "callable", "schema_valid", "removed"],
        "label_column": "name",
        "columns": {
            "server": "registry name of its server", "name": "tool name (links to its neighbourhood in the graph)",
            "title": "as listed", "description": "as listed (server text)", "input_schema": "JSON Schema of the arguments",
            "output_schema": "JSON Schema of structured results", "annotations": "MCP annotations (readOnlyHint ...)",
            "schema_hash": "hash of name, description, schemas and annotations",
            "schema_valid": "1 if the schemas are valid JSON Schema", "schema_errors": "why not (JSON)",
            "callable": "0 for tools known only from an offline catalog", "removed": "1 once no longer listed",
            "source": "discovery or catalog:<file>", "versions": "schema versions seen",
            "stream_version": "changes and removals so far", "first_seen": "UTC", "last_seen": "UTC",
        },
    },
    "tool_versions": {
        "title": "Schema drift",
        "description": "One row per schema change of a tool: added, changed or removed, over time.",
        "sort_desc": "time",
        "facets": ["change", "server"],
        "columns": {
            "position": _POSITION, "server": "the tool's server", "name": "the tool", "change": "added, changed or removed",
            "schema_hash": "the new schema's hash", "previous_hash": "the schema it replaced", "time": _TIME, "run": _RUN,
        },
    },
    "errors": {
        "title": "Errors",
        "description": "Every error event of every stage: failed servers, failed calls, failed explorations.",
        "sort_desc": "position",
        "facets": ["stage", "error_class", "server"],
        "columns": {
            "position": _POSITION, "time": _TIME, "run": _RUN, "stage": "discover, explore, graph, ...",
            "server": "the server involved", "tool": "the tool involved", "error_class": "what kind of failure",
            "message": "one-line reason (secret values removed)",
        },
    },
    "llm_exchanges": {
        "title": "LLM exchanges",
        "description": "Every request to an OpenAI-compatible endpoint that was answered or failed (the raw prompt and reply are in the log).",
        "sort_desc": "position",
        "facets": ["purpose", "status", "model"],
        "columns": {
            "position": _POSITION, "time": _TIME, "run": _RUN, "purpose": "what it was for (judge-edges ...)",
            "operation": "chat or embeddings", "request_hash": "hash of the canonical request",
            "attempt": "0 first, counts up when asked again on purpose", "model": "the model that answered",
            "status": "ok or failed", "error_class": "why it failed", "message": "the failure's message",
            "finish_reason": "as reported", "prompt_tokens": "as reported", "completion_tokens": "as reported",
            "latency_ms": "time the request took",
        },
    },
    "embeddings": {
        "title": "Tool embeddings",
        "description": "One vector per tool schema and embedder; the usearch vector index is built from these.",
        "sort_desc": "position",
        "facets": ["model"],
        "columns": {
            "position": "the embedded event (also the vector index key)", "subject": "what was embedded (tool:<server>/<name>)",
            "version": "the tool's schema hash", "model": "the embedder", "dim": "dimensions",
            "dtype": "float16 or float32", "vector": "little-endian vector bytes", "text_hash": "hash of the embedded text",
            "time": _TIME,
        },
    },
    "edge_candidates": {
        "title": "Edge candidates",
        "description": "Tool pairs proposed for judging (vector neighbours, same server, schema matches). Not edges until judged.",
        "sort_desc": "similarity",
        "facets": ["a_server", "b_server"],
        "columns": {
            "a_server": "first tool's server", "a_name": "first tool", "b_server": "second tool's server",
            "b_name": "second tool", "similarity": "best cosine similarity any generator saw",
            "via": "which generators proposed it (JSON)", "position": "the event that first proposed it",
        },
    },
    "edge_verdicts": {
        "title": "Edge verdicts",
        "description": "Each judge's latest verdict on each candidate pair, with its reason (model text when an LLM judged).",
        "sort_desc": "position",
        "facets": ["judge", "direction"],
        "columns": {
            "a_server": "first tool's server", "a_name": "first tool", "b_server": "second tool's server", "b_name": "second tool",
            "judge": "rules-v1 or llm:<model>", "a_hash": "first tool's schema hash when judged",
            "b_hash": "second tool's schema hash when judged", "direction": "a->b, b->a, both or none",
            "score_ab": "confidence in a -> b", "score_ba": "confidence in b -> a", "reason": "why (judge text)",
            "request_hash": "the LLM exchange it came from", "position": _POSITION, "time": _TIME,
        },
    },
    "edges": {
        "title": "Tool graph edges",
        "description": "Accepted workflow edges: the source's output can feed the target's input, or the two make one workflow.",
        "sort_desc": "score",
        "facets": ["judge", "source_server", "target_server"],
        "columns": {
            "source_server": "source tool's server", "source_name": "source tool", "target_server": "target tool's server",
            "target_name": "target tool", "judge": "who accepted it", "score": "the judge's confidence",
            "reason": "why (judge text)", "position": "the edge-judged event",
        },
    },
    "dags": {
        "title": "Sampled DAGs",
        "description": "Small sub-DAGs of the tool graph sampled for exploration (dag_id links to a picture).",
        "sort": "position",
        "facets": ["size", "scope", "sampler"],
        "columns": {
            "dag_id": "hash of its tools and edges (links to its picture)", "position": _POSITION, "size": "tools",
            "edge_count": "edges", "scope": "callable or all (catalog tools too)", "seed": "sampling seed",
            "idx": "its number under the seed", "sampler": "algorithm and version",
            "tools": "[[server, name], ...] in topological order (JSON)", "edges": "[[i, j], ...] (JSON)",
            "time": _TIME, "run": _RUN,
        },
    },
    "dag_tools": {
        "title": "DAG tools",
        "description": "The tools of each sampled DAG, one row per step.",
        "sort": "dag_id",
        "facets": ["server", "name"],
        "columns": {
            "dag_id": "the DAG", "step": "index in its topological order", "server": "the tool's server",
            "name": "the tool", "schema_hash": "its schema hash when sampled",
        },
    },
    "explorations": {
        "title": "Explorations",
        "description": "One walk of a sampled DAG on a fresh sandbox, calling the real tools. Its tools link to the exploration page.",
        "sort_desc": "started_at",
        "facets": ["status", "policy", "servers"],
        "columns": {
            "exploration_id": "derived from the DAG, policy and seed", "dag_id": "the DAG walked (links to its picture)",
            "policy": "offline or llm:<model>", "seed": "seed of the policy's choices",
            "tools": "server/name in walk order (links to the exploration page: its calls in order)", "status": "running, finished or failed",
            "calls": "calls made", "successes": "calls with a result that is not an error",
            "errors": "calls that failed", "chained": "successful calls fed by an earlier result",
            "servers": "servers involved", "reason": "why it failed", "started_at": "UTC", "ended_at": "UTC", "run": _RUN,
        },
    },
    "calls": {
        "title": "Tool calls",
        "description": "Every real call and its real result. Results are tool text: untrusted, shown as text.",
        "sort_desc": "position",
        "facets": ["server", "tool", "is_error", "error_class"],
        "columns": {
            "position": "the tool-called event", "exploration_id": "the exploration (links to its page)",
            "step": "the step of the walk", "attempt": "0 first, counts up on retries", "server": "the server", "tool": "the tool",
            "arguments": "arguments as sent (JSON, virtual paths)", "arguments_hash": "hash of their canonical JSON",
            "sources": "arguments fed by earlier results (JSON)", "chained": "1 if fed by an earlier result and successful",
            "result_text": "the result's text blocks (tool text)", "content": "MCP content blocks (JSON)",
            "structured_content": "structured result (JSON)", "is_error": "1 if the tool reported an error",
            "error_class": "no result at all: timeout, server-died, ...", "error": "the message for error_class",
            "ok": "1 for a result that is not an error", "latency_ms": "time of the call", "result_bytes": "size of the full result",
            "truncated": "1 if cut to the size cap", "read_only": "1 if the call cannot change the world",
            "state": "hash of the effectful calls before it (the world it saw)", "time": _TIME,
            "probe_of": "for a probe call, the step of the effectful call whose effect it checks",
        },
    },
    # contract 3: written by the synthesis stage
    "tasks": {
        "title": "Tasks",
        "description": "Tasks written backward from explorations: the label is what the real tools returned. Questions link to the task page.",
        "sort_desc": "created_at",
        "facets": ["kind", "split", "verified", "synthesizer", "hops"],
        "label_column": "question",
        "columns": {
            "task_id": "the task's id", "exploration_id": "the exploration it was written from", "dag_id": "its DAG",
            "kind": "lookup, multi-hop, aggregate, state-change or action (the label is the call it asks for)", "question": "what the agent is asked (links to the task page)",
            "answer": "the label (JSON)", "match": "how an answer is compared with the label (JSON rule)",
            "trajectory": "reference calls: step, server, tool, arguments (JSON)",
            "probe": "for state-change tasks, the read-only call that checks the end state (JSON)",
            "provenance": "where the label came from: step, path, value (JSON)",
            "derivation": "how the answer follows from the provenance values (JSON op: value, count, sum, ...)",
            "answer_schema": "for an answer with named fields: its JSON Schema, each field's match rule in x-match",
            "calls": "calls in the reference trajectory",
            "servers": "servers involved", "hops": "dependent calls", "synthesizer": "who wrote it", "template": "the offline template or llm",
            "verified": "1 passed every verifier, 0 rejected, empty until verified", "split": "train or test",
            "position": "the task-synthesized event", "created_at": "UTC",
        },
    },
    "verdicts": {
        "title": "Verdicts",
        "description": "One verdict per verifier and task, with the reasons for a rejection.",
        "sort": "task_id",
        "facets": ["verifier", "passed"],
        "columns": {
            "task_id": "the task (links to its page)", "verifier": "which check", "passed": "1 passed, 0 rejected",
            "reasons": "why (JSON list)", "params": "the verifier's parameters (JSON)", "position": "the task-verdict event",
            "time": _TIME,
        },
    },
    "syntheses": {
        "title": "Syntheses",
        "description": "What each synthesizer did with each exploration: tasks kept, candidates, and why the others were skipped.",
        "sort_desc": "position",
        "facets": ["synthesizer"],
        "columns": {
            "exploration_id": "the exploration (links to its page)", "synthesizer": "who wrote the tasks",
            "tasks": "tasks kept", "candidates": "candidates considered", "skipped": "reason -> count (JSON)",
            "position": _POSITION, "time": _TIME,
        },
    },
    # the simulator's lookup projection (written by the simulation stage)
    "sim_schemas": {
        "title": "Simulator: schema positions",
        "description": "For every tool, the tool-discovered event whose input schema canonicalises its calls"
                       " (the view sim_tools shows the schemas).",
        "sort": "server",
        "facets": ["server"],
        "columns": {"server": "the server", "tool": "the tool", "position": "the tool-discovered event"},
    },
    "sim_tools": {
        "title": "Simulator: tool schemas",
        "description": "The input schema and annotations of every tool as the simulator canonicalises calls with them"
                       " (a view: the schemas are read from the tool-discovered events in sim_schemas).",
        "sort": "server",
        "facets": ["server"],
        "columns": {
            "server": "the server", "tool": "the tool", "input_schema": "JSON Schema of the arguments (defaults fill calls)",
            "annotations": "MCP annotations (JSON)", "position": "the tool-discovered event",
        },
    },
    "sim_calls": {
        "title": "Simulator: recorded results",
        "description": "Every real result the simulator can replay, by canonical call and the world it was observed in.",
        "sort_desc": "position",
        "facets": ["server", "tool", "is_error", "effect"],
        "columns": {
            "position": "the tool-called event", "key": "hash of server, tool and canonical arguments", "server": "the server",
            "tool": "the tool", "arguments": "canonical arguments (JSON)", "arguments_hash": "the recorded arguments' hash",
            "state": "the world it was observed in (effects on every server)", "server_state": "effects on this server only",
            "read_only": "1 if the call cannot change the world", "effect": "1 if it changed the world",
            "content": "MCP content blocks as recorded (tool text)", "structured_content": "structured result (JSON)",
            "is_error": "1 if the tool reported an error", "exploration_id": "the exploration (links to its page)",
            "step": "its step", "attempt": "its attempt", "time": _TIME,
        },
    },
    "sim_generated": {
        "title": "Simulator: generated results",
        "description": "Results a model wrote for calls never recorded (llm mode), reused for the same call and server state. Model text.",
        "sort_desc": "position",
        "facets": ["server", "tool", "model", "is_error"],
        "columns": {
            "position": "the tool-simulated event", "key": "hash of server, tool and canonical arguments",
            "server_state": "effects on this server when asked", "server": "the server", "tool": "the tool",
            "arguments": "canonical arguments (JSON)", "content": "the generated content blocks (model text)",
            "structured_content": "generated structured result (JSON)", "is_error": "1 if it is a tool error",
            "model": "the model that wrote it", "request_hash": "the LLM exchange",
            "neighbours": "positions of the recorded calls shown to the model (JSON)", "time": _TIME,
        },
    },
    "evals": {
        "title": "Evaluations",
        "description": "One row per evaluation of an agent on a split, played against the simulator.",
        "sort_desc": "started_at",
        "facets": ["agent", "split", "simulator"],
        "columns": {
            "eval_id": "the evaluation", "agent": "openai:<model>, oracle or null", "model": "the model", "base_url": "its endpoint",
            "split": "train, test, or every verified task", "max_turns": "turns allowed per episode", "samples": "episodes per task",
            "simulator": "the simulator mode", "tasks": "tasks in the evaluation", "params": "other parameters (JSON)",
            "episodes": "episodes recorded so far", "solved": "episodes with reward 1", "started_at": "UTC",
            "last_episode_at": "UTC", "run": _RUN,
            "dataset": "where the tasks are, when not in this file (firefly eval --record-to): the dataset's path",
            "dataset_hash": "that dataset's content hash (a packed file's), else empty",
        },
    },
    "episodes": {
        "title": "Episodes",
        "description": "One agent episode on one task: its conversation, calls, answer and reward. Model and tool text.",
        "sort_desc": "position",
        "facets": ["outcome", "reward", "eval_id"],
        "columns": {
            "position": "the episode-recorded event", "eval_id": "the evaluation", "task_id": "the task (links to its page)",
            "sample": "which sample of the task", "reward": "1 when the answer matches the label", "outcome":
            "answered, unanswered, max-turns or llm-error", "answer": "the agent's final answer (model text)",
            "turns": "turns taken", "calls": "tool calls made", "bad_calls": "malformed calls", "tool_errors": "calls whose result was an error",
            "prompt_tokens": "as reported", "completion_tokens": "as reported", "latency_ms": "model time",
            "env_ms": "simulator time", "error": "what went wrong", "messages": "the conversation (OpenAI chat format, JSON)",
            "tool_calls": "the calls made (JSON)", "time": _TIME,
        },
    },
    "episode_aborts": {
        "title": "Episodes aborted",
        "description": "Episodes an evaluation could not play because the model's endpoint was down: not scored; running the evaluation again plays them.",
        "sort_desc": "position",
        "facets": ["error_class", "status", "eval_id"],
        "columns": {
            "position": "the episode-aborted event", "eval_id": "the evaluation", "task_id": "the task (links to its page)",
            "sample": "which sample of the task", "error_class": "connection-error, timeout or http-error",
            "status": "HTTP status, when there was one", "error": "the endpoint's error", "turns": "turns completed before it",
            "time": _TIME, "run": _RUN,
        },
    },
    "dataset": {
        "title": "About this dataset",
        "description": "Written by firefly pack: counts, versions, every run's options and a content hash.",
        "sort": "key",
        "columns": {"key": "what", "value": "its value (JSON)", "description": "what it means"},
    },
    "dataset_files": {"hidden": True},
    "_projections": {"hidden": True},
    "_migrations": {"hidden": True},
}


# -- which databases are firefly databases ------------------------------------------------------


@lru_cache(maxsize=256)
def _has_log(path: str) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def firefly_databases(datasette: Any) -> list[str]:
    """Names of the attached databases that hold a firefly log (asked once per file: the
    hooks call this for every cell and every metadata lookup)."""
    return [name for name, db in datasette.databases.items()
            if getattr(db, "path", None) and not getattr(db, "is_memory", False) and _has_log(str(db.path))]


# -- descriptions of tables this module does not know, from the migrations ---------------------


@lru_cache(maxsize=1)
def migration_comments() -> dict[str, str]:
    """Table name -> the comment lines just above its CREATE TABLE in the migrations."""
    from firefly.migrations import migration_files

    found: dict[str, str] = {}
    for path in migration_files():
        comment: list[str] = []
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("--"):
                comment.append(stripped.lstrip("-").strip())
                continue
            match = re.match(r"CREATE TABLE (?:IF NOT EXISTS )?\[?(\w+)\]?", stripped, re.IGNORECASE)
            if match and comment:
                found[match.group(1)] = " ".join(comment)
            comment = []
    return found


def table_metadata(table: str) -> dict[str, Any]:
    """The metadata of one table: the written one, else a title and the migration's comment."""
    if table in TABLES:
        return TABLES[table]
    meta: dict[str, Any] = {"title": table.replace("_", " ").capitalize()}
    if table in migration_comments():
        meta["description"] = migration_comments()[table]
    return meta


@lru_cache(maxsize=1)
def _all_tables() -> dict[str, dict[str, Any]]:
    from firefly.projections import all_projections

    tables = dict(TABLES)
    for projection in all_projections():
        for table in projection.tables:
            tables.setdefault(table, table_metadata(table))
    return tables


@hookimpl
def get_metadata(datasette, key, database, table):  # noqa: ANN001, ANN201
    names = firefly_databases(datasette)
    if not names:
        return {}
    tables = _all_tables()
    return {"databases": {name: {**DATABASE, "tables": tables} for name in names}}


# -- canned queries ----------------------------------------------------------------------------

TASKS_PER_SERVER = """
-- tasks whose reference trajectory calls each server
WITH task_servers AS (
  SELECT DISTINCT t.task_id, json_extract(step.value, '$.server') AS server, t.verified, t.split
  FROM tasks t, json_each(t.trajectory) AS step
)
SELECT server, count(*) AS tasks, sum(verified IS 1) AS verified, sum(verified IS 0) AS rejected,
       sum(verified IS NULL) AS unverified, sum(split IS 'train') AS train, sum(split IS 'test') AS test
FROM task_servers GROUP BY server ORDER BY tasks DESC, server
"""

REJECTION_REASONS = """
-- why tasks were rejected, by verifier
SELECT v.verifier, reason.value AS reason, count(*) AS tasks
FROM verdicts v, json_each(v.reasons) AS reason
WHERE v.passed = 0
GROUP BY v.verifier, reason.value ORDER BY tasks DESC, v.verifier, reason
"""

TOOL_COVERAGE = """
-- every callable tool: in how many sampled DAGs, calls and successful calls{tasks_note}
SELECT t.server, t.name AS tool,
  (SELECT count(*) FROM dag_tools d WHERE d.server = t.server AND d.name = t.name) AS in_dags,
  (SELECT count(*) FROM calls c WHERE c.server = t.server AND c.tool = t.name) AS calls,
  (SELECT count(*) FROM calls c WHERE c.server = t.server AND c.tool = t.name AND c.ok = 1) AS ok_calls{tasks_column}
FROM tools t WHERE t.callable = 1 AND t.removed = 0
ORDER BY ok_calls, calls, t.server, t.name
"""

TASKS_COLUMN = """,
  (SELECT count(DISTINCT tk.task_id) FROM tasks tk, json_each(tk.trajectory) s
    WHERE json_extract(s.value, '$.server') = t.server AND json_extract(s.value, '$.tool') = t.name) AS tasks"""

SCHEMA_DRIFT = """
-- schema changes per day and server: tools added, changed and removed
SELECT substr(time, 1, 10) AS day, server, sum(change = 'added') AS added, sum(change = 'changed') AS changed,
       sum(change = 'removed') AS removed
FROM tool_versions GROUP BY day, server ORDER BY day, server
"""

TOOL_HISTORY = """
-- every schema version of one tool, oldest first
SELECT time, change, schema_hash, previous_hash, run FROM tool_versions
WHERE server = :server AND name = :tool ORDER BY position
"""

CALL_OUTCOMES = """
-- how calls went, per server: successes, tool errors and calls with no result
SELECT server, count(*) AS calls, sum(ok) AS ok, sum(is_error) AS tool_errors,
       sum(error_class IS NOT NULL) AS no_result, round(avg(latency_ms), 1) AS avg_latency_ms
FROM calls GROUP BY server ORDER BY calls DESC
"""


@hookimpl
def canned_queries(datasette, database, actor):  # noqa: ANN001, ANN201
    async def queries() -> dict[str, Any]:
        from firefly import quality

        if database not in firefly_databases(datasette):
            return {}
        tables = set(await datasette.get_database(database).table_names())
        has_tasks = {"tasks", "verdicts"} <= tables
        out: dict[str, Any] = {}
        if has_tasks:
            out["tasks_per_server"] = {"title": "Tasks per server", "sql": TASKS_PER_SERVER.strip(),
                                       "description": "Tasks whose reference trajectory calls each server, verified and by split."}
            out["rejection_reasons"] = {"title": "Rejection reasons", "sql": REJECTION_REASONS.strip(),
                                        "description": "Why verifiers rejected tasks, most common first."}
            if "tools" in tables:
                out["tools_needed"] = {"title": "Tools needed by verified tasks", "sql": quality.TOOLS_NEEDED.strip(),
                                       "description": "Every callable tool and the verified tasks whose answer needs it;"
                                                      " tools no verified task needs first."}
            out["question_templates"] = {"title": "Question templates", "sql": quality.TEMPLATES.strip(),
                                         "description": "Masked question templates of the verified tasks and their counts."}
            out["rejections_by_verifier"] = {"title": "Rejections by verifier", "sql": quality.REJECTIONS.strip(),
                                             "description": "Tasks each verifier rejected."}
        coverage = TOOL_COVERAGE.format(tasks_note=", tasks using it" if has_tasks else "",
                                        tasks_column=TASKS_COLUMN if has_tasks else "")
        out["tool_coverage"] = {"title": "Tool coverage", "sql": coverage.strip(),
                                "description": "Every callable tool: sampled DAGs, calls and successful calls; least covered first."}
        out["schema_drift"] = {"title": "Schema drift over time", "sql": SCHEMA_DRIFT.strip(),
                               "description": "Tools added, changed and removed per day and server."}
        out["tool_history"] = {"title": "One tool's schema history", "sql": TOOL_HISTORY.strip(),
                               "description": "Every schema version of one tool (give server and tool)."}
        out["call_outcomes"] = {"title": "Call outcomes per server", "sql": CALL_OUTCOMES.strip(),
                                "description": "Successes, tool errors and calls without a result, per server."}
        return out

    return queries
