"""The webhook: setWebhook, deleteWebhook, getWebhookInfo as Telegram answers them, and the
delivery Telegram makes to a set webhook (POSTing the queued updates to the bot's server).

While a webhook is set, getUpdates is refused with Telegram's 409. The delivery is driven by
the test (``await api.deliver_pending(url)``), not by a loop: a test says when updates go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from tests.fakes.bot_api.core import FakeState
from tests.fakes.bot_api.wire import ApiError, UploadedFile, dumps

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
GET_UPDATES_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class Webhooks(FakeState):
    @property
    def webhook(self) -> dict[str, Any]:
        """What setWebhook set: url, secret_token, allowed_updates ({} when none is set)."""
        return dict(self._webhook)

    def set_webhook_directly(self, url: str, secret_token: str | None = None) -> None:
        """A webhook set earlier (by another installation, say), without a call."""
        self._webhook = {"url": url, "secret_token": secret_token, "allowed_updates": None}

    async def deliver_pending(
        self, url: str, *, headers: Mapping[str, str] | None = None
    ) -> list[int]:
        """POST every queued update to ``url`` (the bot's server, standing in for the webhook's
        public URL), one at a time, as Telegram does; those answered 2xx leave the queue.

        ``headers`` replace the secret header of the set webhook (``{}``: none at all).
        Returns the HTTP statuses, in order.
        """
        if headers is None:
            secret = self._webhook.get("secret_token")
            headers = {SECRET_HEADER: secret} if secret else {}
        statuses = []
        async with aiohttp.ClientSession() as session:
            for update in list(self._pending):
                async with session.post(
                    url,
                    data=dumps(update),
                    headers={"Content-Type": "application/json", **headers},
                ) as response:
                    await response.read()
                    statuses.append(response.status)
                if 200 <= response.status < 300:
                    self._pending.remove(update)
        return statuses

    def _set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url", ""))
        if not url:  # Telegram: an empty url removes the webhook
            self._webhook = {}
            return True
        if not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        self._webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
        return True

    def _delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        self._webhook = {}
        return True

    def _get_webhook_info(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = self._webhook["allowed_updates"]
        return info
