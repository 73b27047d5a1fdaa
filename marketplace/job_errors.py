"""The two exceptions every engine raises to the job runner. Django-free, so engines can raise them."""


class JobCancelled(Exception):
    """The job was asked to stop (raised from a progress callback or a should-cancel check). A trainer says at which
    step, where its checkpoint is."""

    def __init__(self, message: str = "cancelled", *, step: int | None = None) -> None:
        super().__init__(message)
        self.step = step


class JobInputError(ValueError):
    """The job's input cannot be used; the message tells a person what to change. The job fails, never retries."""
