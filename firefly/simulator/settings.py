"""The simulator's modes and defaults (a light module: the CLI reads it without loading the rest)."""

MODES = ("strict", "nearest", "llm")
MISS_TEXT = "no recorded result for these arguments"
DEFAULT_THRESHOLD = 0.85  # cosine similarity a nearest result needs (see `firefly simulate fidelity`)
DEFAULT_K = 5  # recorded calls shown to the llm mode's model
