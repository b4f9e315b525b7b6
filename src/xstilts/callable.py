"""Packages that are also API functions: ``xstilts.report(out)`` and ``xstilts.export(...)``.

Kept apart from ``xstilts.api`` (which imports report and export) and reaching the API by name on
call, so that the packages and the API never import each other.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """A package that is also the API function of its name (``xstilts.report(out)``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module("xstilts.api")
        return getattr(api, self.__dict__["_xstilts_api"])(*args, **kwargs)


def callable_package(name: str, api_name: str) -> None:
    """Make package ``name`` callable as ``xstilts.api.<api_name>``; imports of its modules
    (``import xstilts.report.build as b``) keep working."""
    mod = sys.modules[name]
    mod.__class__ = _CallableModule
    mod._xstilts_api = api_name
