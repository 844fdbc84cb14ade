"""What every part of the official peer shares for its room event handlers."""

import logging

log = logging.getLogger("official_peer")


def safe(handler):
    """An event handler whose exceptions are logged, never raised into the SDK."""
    def wrapper(*args):
        try:
            handler(*args)
        except Exception:
            log.exception("event handler %s failed", handler.__name__)
    wrapper.__name__ = handler.__name__
    return wrapper
