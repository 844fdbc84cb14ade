"""Callbacks by event name, with the official SDK's rules: `on` works as a call and as a
decorator, async callbacks are refused, and a callback gets only as many arguments as it takes.

asyncio and logging are imported when first needed: importing `rtc` stays cheap (a target)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional, TypeVar

    T = TypeVar("T")

_VARARGS = 0x04  # code flags
_COROUTINE = 0x80


def log_exception(message: str, *args: Any) -> None:
    import logging

    logging.getLogger("livekit_core").exception(message, *args)


def _is_async(callback: Callable) -> bool:
    code = getattr(getattr(callback, "__func__", callback), "__code__", None)
    if code is not None:
        return bool(code.co_flags & _COROUTINE)
    import inspect

    return inspect.iscoroutinefunction(callback)


def _arity(callback: Callable) -> Optional[int]:
    """Positional parameters the callback takes; None when it takes *args."""
    function = getattr(callback, "__func__", callback)
    code = getattr(function, "__code__", None)
    if code is not None and (function is callback or getattr(callback, "__self__", None) is not None):
        if code.co_flags & _VARARGS:
            return None
        return code.co_argcount - (0 if function is callback else 1)
    import inspect

    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class EventEmitter:
    """Generic in the event names, as the official one: `EventEmitter[str]()` works."""

    def __class_getitem__(cls, item: Any) -> type:
        return cls

    def __init__(self) -> None:
        # callback -> arity, in registration order
        self._events: Dict[T, Dict[Callable, Optional[int]]] = {}

    def emit(self, event: T, *args: Any) -> None:
        callbacks = self._events.get(event)
        if not callbacks:
            return
        for callback, arity in list(callbacks.items()):
            try:
                callback(*(args if arity is None else args[:arity]))
            except Exception:
                log_exception("failed to run the %r callback %r", event, callback)

    def on(self, event: T, callback: Optional[Callable] = None) -> Callable:
        if callback is None:

            def decorator(callback: Callable) -> Callable:
                self.on(event, callback)
                return callback

            return decorator
        if _is_async(callback):
            raise ValueError(
                "Cannot register an async callback with `.on()`. Use `asyncio.create_task` "
                "within your synchronous callback instead."
            )
        self._events.setdefault(event, {})[callback] = _arity(callback)
        return callback

    def once(self, event: T, callback: Optional[Callable] = None) -> Callable:
        if callback is None:

            def decorator(callback: Callable) -> Callable:
                self.once(event, callback)
                return callback

            return decorator

        def once_callback(*args: Any) -> None:
            self.off(event, once_callback)
            arity = _arity(callback)
            callback(*(args if arity is None else args[:arity]))

        return self.on(event, once_callback)

    def off(self, event: T, callback: Callable) -> None:
        callbacks = self._events.get(event)
        if callbacks is not None:
            callbacks.pop(callback, None)
