"""Lazy package exports: names load their submodule on first access, so importing a package is cheap.

Usage in a package's ``__init__.py``::

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"submodule": ("name_a", "name_b")})
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Sequence


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Module-level ``__getattr__`` and ``__dir__`` (PEP 562) and ``__all__`` for ``package``.

    Args:
        package: the package's ``__name__``.
        exports: submodule name (relative to the package) -> names it provides.
    """
    where = {name: module for module, names in exports.items() for name in names}
    names = sorted(where)

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names
