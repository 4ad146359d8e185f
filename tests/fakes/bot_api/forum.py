"""A forum supergroup (the operators' chat of appeals): topics made and closed by the bot,
members writing in a topic or in General, messages copied between chats, and whether the bot
is an admin there (without it, topics cannot be made: Telegram's 400)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.bot_api.core import FakeState, StoredMessage
from tests.fakes.bot_api.wire import ApiError, ChatKey, UploadedFile, chat_key, utf16_len

_COPIED = ("text", "photo", "document", "sticker", "voice", "video_note", "video", "animation")


@dataclass
class Topic:
    thread_id: int
    name: str
    closed: bool = False


@dataclass
class ForumChat:
    bot_is_admin: bool
    topics: dict[int, Topic] = field(default_factory=dict)


class Forum(FakeState):
    def make_forum(self, chat_id: int, *, bot_is_admin: bool = True) -> None:
        """The chat is a forum supergroup the bot is a member of (an admin, by default)."""
        self._forums[chat_key(chat_id)] = ForumChat(bot_is_admin)

    def set_bot_admin(self, chat_id: int, admin: bool) -> None:
        self._forums[chat_key(chat_id)].bot_is_admin = admin

    def topics(self, chat_id: int) -> list[Topic]:
        return list(self._forums[chat_key(chat_id)].topics.values())

    def push_topic_text(
        self,
        chat_id: int,
        thread_id: int | None,
        text: str,
        *,
        user_id: int,
        first_name: str = "Olga",
    ) -> dict[str, Any]:
        """A member writes in a topic (None: in General); commands get their entity."""
        user = self._user(chat_id, user_id, first_name, None, None, "ru")
        content: dict[str, Any] = {"text": text}
        if thread_id is not None:
            content.update(message_thread_id=thread_id, is_topic_message=True)
        if text.startswith("/"):
            length = utf16_len(text.split(maxsplit=1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push_update({"message": self._user_message(chat_id, user, **content)})

    def push_photo(
        self, chat_id: int, *, caption: str | None = None, user_id: int | None = None
    ) -> dict[str, Any]:
        """A resident sends a photo (one size), with a caption if given."""
        user = self._user(chat_id, user_id, "Ivan", None, None, "ru")
        number = next(self._file_ids)
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": f"AgACAgIAAxkBAAI{number:06d}",
                    "file_unique_id": f"AQAD{number:06d}",
                    "width": 1280,
                    "height": 960,
                }
            ]
        }
        if caption:
            content["caption"] = caption
        return self.push_update({"message": self._user_message(chat_id, user, **content)})

    def _forum(self, params: dict[str, Any]) -> tuple[ChatKey, ForumChat]:
        key = chat_key(params.get("chat_id", 0))
        forum = self._forums.get(key)
        if forum is None:
            raise ApiError(400, "Bad Request: chat not found")
        return key, forum

    def _create_forum_topic(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        key, forum = self._forum(params)
        if not forum.bot_is_admin:
            raise ApiError(400, "Bad Request: not enough rights to create a topic")
        name = str(params.get("name", ""))
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        thread_id = self._next_message_id(key)  # a topic is known by its first message's id
        forum.topics[thread_id] = Topic(thread_id, name)
        self._notify_activity()
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    def _close_forum_topic(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        _, forum = self._forum(params)
        topic = forum.topics.get(int(params.get("message_thread_id", 0)))
        if topic is None:
            raise ApiError(400, "Bad Request: message thread not found")
        if topic.closed:
            raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic.closed = True
        self._notify_activity()
        return True

    def _delete_forum_topic(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        _, forum = self._forum(params)
        forum.topics.pop(int(params.get("message_thread_id", 0)), None)
        return True

    def _get_chat_member(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        _, forum = self._forum(params)
        user_id = int(params.get("user_id", 0))
        if user_id == self.bot_id:
            status = "administrator" if forum.bot_is_admin else "member"
            member: dict[str, Any] = {"status": status, "user": self.bot_user}
            if forum.bot_is_admin:
                member.update(_ADMIN_RIGHTS)
            return member
        user = {"id": user_id, "is_bot": False, "first_name": "Member"}
        return {"status": "member", "user": user}

    def _copy_message(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        """The message as it is, without its sender; a new caption replaces the old."""
        source_key = chat_key(params.get("from_chat_id", 0))
        source = self._messages.get((source_key, int(params.get("message_id", 0))))
        if source is None or source.deleted:
            raise ApiError(400, "Bad Request: message to copy not found")
        key = chat_key(params.get("chat_id", 0))
        content = {k: v for k, v in source.api_message.items() if k in _COPIED}
        if "caption" in params:
            caption = self._render_text(str(params["caption"]), params.get("parse_mode"))
            content["caption"] = caption
        elif "caption" in source.api_message:
            content["caption"] = source.api_message["caption"]
        message = self._bot_message(key, **content, **self._thread_of(params))
        raw = str(params.get("caption", content.get("text", "")))
        stored = StoredMessage(api_message=message, from_bot=True, raw_text=raw)
        self._messages[(key, message["message_id"])] = stored
        record = self._record("copyMessage", key, stored)
        record["copied_from"] = (source_key, int(params["message_id"]))
        return {"message_id": message["message_id"]}


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_manage_topics": True,
}
