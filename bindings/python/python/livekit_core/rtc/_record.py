"""A small stand-in for dataclasses: keyword or positional construction, defaults, repr and
equality. `dataclasses` (with `inspect`) costs about 2.7 MB and 10 ms at import, and the
import footprint of `rtc` is a target."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, Tuple


class Record:
    _fields: ClassVar[Tuple[str, ...]] = ()
    # A default that is a type (list, dict) is called, so instances never share it.
    _defaults: ClassVar[Dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(self._fields)} arguments")
        values = dict(zip(self._fields, args))
        for key, value in kwargs.items():
            if key not in self._fields:
                raise TypeError(f"{type(self).__name__} has no field {key!r}")
            if key in values:
                raise TypeError(f"{type(self).__name__} got {key!r} twice")
            values[key] = value
        for name in self._fields:
            if name in values:
                setattr(self, name, values[name])
            elif name in self._defaults:
                default = self._defaults[name]
                setattr(self, name, default() if isinstance(default, type) else default)
            else:
                raise TypeError(f"{type(self).__name__} needs {name!r}")

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)
