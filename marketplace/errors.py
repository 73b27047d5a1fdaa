"""The one error type that services raise for a person to act on; the API turns it into {"message", "extra"}."""

from typing import Any


class ApplicationError(Exception):
    def __init__(self, message: str, *, extra: dict[str, Any] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        # HTTP status the API answers with: 400 bad input, 403 may see but not use, 409 conflict, 413 too large.
        self.status = status
