"""RPC types with the official SDK's shapes: RpcError (code, message, data) and
RpcInvocationData given to method handlers."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (1.7 MB)

from ._record import Record

if TYPE_CHECKING:
    from typing import ClassVar, Dict, Optional, Union


class RpcError(Exception):
    """An RPC failure. Raise it in a handler to send its code, message and data to the caller;
    any other exception reaches the caller as 1500 (application error)."""

    class ErrorCode:
        """The official codes (plain ints, as the values the official IntEnum compares equal to)."""

        APPLICATION_ERROR = 1500
        CONNECTION_TIMEOUT = 1501
        RESPONSE_TIMEOUT = 1502
        RECIPIENT_DISCONNECTED = 1503
        RESPONSE_PAYLOAD_TOO_LARGE = 1504
        SEND_FAILED = 1505
        UNSUPPORTED_METHOD = 1400
        RECIPIENT_NOT_FOUND = 1401
        REQUEST_PAYLOAD_TOO_LARGE = 1402
        UNSUPPORTED_SERVER = 1403
        UNSUPPORTED_VERSION = 1404

    ErrorMessage: ClassVar[Dict[int, str]] = {
        ErrorCode.APPLICATION_ERROR: "Application error in method handler",
        ErrorCode.CONNECTION_TIMEOUT: "Connection timeout",
        ErrorCode.RESPONSE_TIMEOUT: "Response timeout",
        ErrorCode.RECIPIENT_DISCONNECTED: "Recipient disconnected",
        ErrorCode.RESPONSE_PAYLOAD_TOO_LARGE: "Response payload too large",
        ErrorCode.SEND_FAILED: "Failed to send",
        ErrorCode.UNSUPPORTED_METHOD: "Method not supported at destination",
        ErrorCode.RECIPIENT_NOT_FOUND: "Recipient not found",
        ErrorCode.REQUEST_PAYLOAD_TOO_LARGE: "Request payload too large",
        ErrorCode.UNSUPPORTED_SERVER: "RPC not supported by server",
        ErrorCode.UNSUPPORTED_VERSION: "Unsupported RPC version",
    }

    def __init__(self, code: Union[int, "RpcError.ErrorCode"], message: str, data: Optional[str] = None):
        super().__init__(message)
        self._code = int(code)
        self._message = message
        self._data = data

    @property
    def code(self) -> int:
        return self._code

    @property
    def message(self) -> str:
        return self._message

    @property
    def data(self) -> Optional[str]:
        return self._data

    def __repr__(self) -> str:
        return f"RpcError(code={self._code}, message={self._message!r}, data={self._data!r})"


class RpcInvocationData(Record):
    _fields = ("request_id", "caller_identity", "payload", "response_timeout", "method")
    _defaults = {"method": ""}
    request_id: str
    caller_identity: str
    payload: str
    response_timeout: float
    method: str
