"""Callbacks by event name, with the official SDK's rules: `on` works as a call and as a
decorator, async callbacks are refused, and a callback gets only as many arguments as it takes."""

import asyncio
import inspect
import logging
from typing import Any, Callable, Dict, Generic, Optional, TypeVar

T = TypeVar("T")
logger = logging.getLogger("livekit_core")


def _arity(callback: Callable) -> Optional[int]:
    """Positional parameters the callback takes; None when it takes *args."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class EventEmitter(Generic[T]):
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
                logger.exception("failed to run the %r callback %r", event, callback)

    def on(self, event: T, callback: Optional[Callable] = None) -> Callable:
        if callback is None:

            def decorator(callback: Callable) -> Callable:
                self.on(event, callback)
                return callback

            return decorator
        if asyncio.iscoroutinefunction(callback):
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
