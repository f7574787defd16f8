"""Package attributes imported on first use (PEP 562).

``import jobmill`` and ``jobmill --help`` then load SQLAlchemy, the worker and
cron only when a program touches them; ``from jobmill import Job`` works as
before. A package lists its public names beside ``__all__`` (and imports them
under ``TYPE_CHECKING`` for type checkers)::

    export_lazily(__name__, {"Job": "jobmill.job", "cron": "jobmill.cron"}, {"cron"})
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any


def export_lazily(
    package_name: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
) -> None:
    """Make each name in ``exports`` an attribute of the package, taken from the
    module ``exports[name]`` when first read; names in ``submodules`` are that
    module itself."""
    package = sys.modules[package_name]
    modules = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value = module if name in modules else getattr(module, name)
        package.__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*package.__dict__, *exports})

    package.__dict__.update(__getattr__=__getattr__, __dir__=__dir__)
    package.__dict__["_lazy_exports"] = (exports, modules)
    package.__class__ = _LazyPackage


class _LazyPackage(types.ModuleType):
    """Importing a submodule named like a public function (``jobmill.job``,
    ``jobmill.cron.schedule``) must not replace that function on the package."""

    def __setattr__(self, name: str, value: Any) -> None:
        exports, modules = self.__dict__["_lazy_exports"]
        if isinstance(value, types.ModuleType) and name in exports and name not in modules:
            return
        super().__setattr__(name, value)
