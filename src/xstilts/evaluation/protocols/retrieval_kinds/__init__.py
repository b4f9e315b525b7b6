"""Retrieval kinds, one module each; ``RETRIEVAL_KINDS`` imports every module here on its first
lookup, so a new kind is one new file (and a task YAML naming it)."""
