"""Appeals (SPEC §11): a resident writes to the billing centre, operators answer in a topic.

The rules that need nothing but values: the topics, the limits, the number an appeal is known
by, the draft a resident builds before sending, and when a wait is overdue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

TOPICS = ("meter", "previous", "verification", "bill", "other")
MAX_OPEN_PER_CHAT = 3
MAX_ATTACHMENTS = 10
MAX_TEXT_LENGTH = 4000

AttachmentKind = Literal["photo", "document"]
Author = Literal["resident", "operator"]
# what a message of an appeal is: text kept in the database, or a message copied as it is
PostKind = Literal["text", "photo", "document", "media"]


def appeal_number(appeal_id: int) -> str:
    """A-000123: what the resident and the operators call the appeal."""
    return f"A-{appeal_id:06d}"


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: AttachmentKind
    message_id: int  # the resident's message, copied into the topic


@dataclass(frozen=True, slots=True)
class AppealDraft:
    """What the resident has written so far, kept in the FSM data until Send."""

    topic: str
    text: str = ""
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def begin(cls, topic: str) -> AppealDraft:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        return cls(topic)

    def with_text(self, text: str) -> AppealDraft:
        if not text.strip() or len(text) > MAX_TEXT_LENGTH:
            raise ValueError("an appeal's text is 1-4000 characters")
        return replace(self, text=text.strip())

    @property
    def full(self) -> bool:
        return len(self.attachments) >= MAX_ATTACHMENTS

    def attach(self, attachment: Attachment) -> AppealDraft:
        if self.full:
            raise ValueError(f"at most {MAX_ATTACHMENTS} attachments")
        return replace(self, attachments=(*self.attachments, attachment))

    def to_data(self) -> dict[str, Any]:
        return {
            "appeal": {
                "topic": self.topic,
                "text": self.text,
                "attachments": [[a.kind, a.message_id] for a in self.attachments],
            }
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AppealDraft | None:
        raw = data.get("appeal")
        if not isinstance(raw, Mapping) or raw.get("topic") not in TOPICS:
            return None
        attachments = tuple(Attachment(kind, int(mid)) for kind, mid in raw.get("attachments", []))
        return cls(raw["topic"], str(raw.get("text", "")), attachments)


@dataclass(frozen=True, slots=True)
class Appeal:
    id: int
    chat_id: int | None  # None once the chat is forgotten
    account_id: int | None
    topic: str
    first_name: str | None
    locale: str | None
    status: Literal["open", "closed"]
    thread_id: int | None  # the operators' topic; None while it waits to be made
    created_at: datetime
    waiting_since: datetime | None
    sla_alerted_at: datetime | None
    answered_at: datetime | None
    rating: int | None

    @property
    def number(self) -> str:
        return appeal_number(self.id)

    @property
    def open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class Post:
    """One message of an appeal: text (`body`, HTML) or a message copied by its id."""

    kind: PostKind
    body: str | None = None  # the text, or a copied message's caption (HTML)
    source_id: int | None = None  # the message copied, in the chat it was written in


@dataclass(frozen=True, slots=True)
class StoredPost:
    id: int
    appeal_id: int
    author: Author
    post: Post
    copy_id: int | None


def overdue(appeal: Appeal, now: datetime, sla: timedelta) -> bool:
    """Raised to the operators once per wait: waiting `sla` or longer, not raised since the
    wait began."""
    if not appeal.open or appeal.thread_id is None or appeal.waiting_since is None:
        return False
    if now - appeal.waiting_since < sla:
        return False
    return appeal.sla_alerted_at is None or appeal.sla_alerted_at < appeal.waiting_since
