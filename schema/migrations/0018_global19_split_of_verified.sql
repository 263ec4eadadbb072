-- Only a verified task has a split: the tasks projection now clears the split of a task that a
-- later verdict rejects (a not-duplicate or diverse verdict re-decided over every task, or a
-- solvable or judged verdict added after the split). Files written before get the same.
UPDATE tasks SET split = NULL WHERE verified = 0 AND split IS NOT NULL;
