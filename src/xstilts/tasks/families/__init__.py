"""Built-in task families, one module each; ``FAMILIES`` imports every module here on its first
lookup (``tasks/family.py``), so a new family is one new file."""
