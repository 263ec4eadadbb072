-- Answers with named fields: the JSON Schema of a task's answer object (each property with
-- its x-match rule), from task-synthesized's answer_schema; NULL for a single-value answer.

ALTER TABLE tasks ADD COLUMN answer_schema TEXT;
