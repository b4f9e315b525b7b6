"""Built-in task families; importing this package registers them."""
# ruff: noqa: I001  (one import line per family, so engineers adding families do not collide)

from xstilts.tasks.families import classification  # noqa: F401
from xstilts.tasks.families import multiple_choice  # noqa: F401
from xstilts.tasks.families import regression  # noqa: F401
from xstilts.tasks.families import retrieval  # noqa: F401
from xstilts.training import mlm  # noqa: F401
from xstilts.tasks.families import tagging  # noqa: F401
from xstilts.tasks.families import qa  # noqa: F401
