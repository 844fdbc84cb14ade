"""The exceptions of livekit_core: one class per kind of the core's error enum, under LiveKitError.

Each also derives from the closest built-in exception, so generic handlers (`except ValueError`,
`except ConnectionError`, `except TimeoutError`) keep working.
"""


class LiveKitError(Exception):
    """Base class of every error raised by livekit_core."""

    hint = ""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}. {self.hint}" if self.hint else message)
        self.message = message


class ConnectError(LiveKitError):
    """The room could not be joined (kept under the official SDK's name)."""


class UnauthorizedError(ConnectError, PermissionError):
    hint = "Check the token: signed with this server's API key and secret, not expired, with roomJoin for this room."


class NotAllowedError(LiveKitError, PermissionError):
    hint = "Add the named grant to the access token."


class LimitExceededError(LiveKitError, ValueError):
    hint = "Send less per call: split the value, or use a byte or text stream for large data."


class InvalidArgumentError(LiveKitError, ValueError):
    pass


class ConnectionFailedError(ConnectError, ConnectionError):
    hint = "Check that the URL is right and the server reachable."


class RequestTimeoutError(LiveKitError, TimeoutError):
    pass


class DisconnectedError(LiveKitError, ConnectionError):
    hint = "Connect a new Room to continue."


class StreamError(LiveKitError, ConnectionError):
    """A data stream failed: the sender aborted it or left, or its data was inconsistent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.description = message


class ServerError(LiveKitError):
    pass


class InternalError(LiveKitError):
    hint = "This is a bug in livekit_core; please report it with the log."


__all__ = [
    "LiveKitError",
    "ConnectError",
    "UnauthorizedError",
    "NotAllowedError",
    "LimitExceededError",
    "InvalidArgumentError",
    "ConnectionFailedError",
    "RequestTimeoutError",
    "DisconnectedError",
    "StreamError",
    "ServerError",
    "InternalError",
]
