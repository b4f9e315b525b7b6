"""Built-in task families; importing this package registers them."""

from xstilts.tasks.families import classification  # noqa: F401
