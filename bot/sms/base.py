"""The SMS sender protocol and its errors; providers live next to this module."""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

__all__ = ["RefusalCause", "SmsError", "SmsFinalError", "SmsSender", "SmsTemporaryError"]

# what the operator has to fix in the gateway's account: money on it, the sender name it may
# use, its credentials; or something else, named by the gateway's status
RefusalCause = Literal["balance", "sender", "account", "other"]


@runtime_checkable
class SmsSender(Protocol):
    """Sends one text message to one phone.

    ``phone`` is E.164 (``+79161234567``). ``text`` is sent unchanged; the caller composes it
    and must keep it free of anything about the account (SPEC §5). Providers must never log
    the text, which holds the code (the console provider is the one exception).
    """

    async def send(self, phone: str, text: str) -> None:
        """Send ``text`` to ``phone``; raise :class:`SmsError` when it was not accepted."""
        ...

    async def close(self) -> None:
        """Release what the sender owns (an HTTP session); safe to call twice."""
        ...


class SmsError(Exception):
    """The message was not accepted by the provider; the resident should try again later."""


class SmsTemporaryError(SmsError):
    """The provider was unreachable or busy, and the retries ran out."""


class SmsFinalError(SmsError):
    """The provider refused the message; retrying the same request will not help."""

    def __init__(self, code: int | None, description: str, cause: RefusalCause = "other") -> None:
        super().__init__(f"{code}: {description}" if code is not None else description)
        self.code = code
        self.description = description
        self.cause = cause
