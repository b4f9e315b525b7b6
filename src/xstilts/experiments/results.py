"""The results store (moved to ``xstilts.rows``, which every layer may import)."""

from xstilts.rows import (  # noqa: F401
    COLUMNS,
    ROW_FIELDS,
    ROW_KINDS,
    ResultRow,
    ResultsStore,
    _row_dict,
)
