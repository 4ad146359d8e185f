"""A chat's accounts: list, switch, unlink; and forgetting the chat altogether (SPEC §5.6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.domain.models import Account
from bot.services.stores import ChatStore, ConversationStore, LinkStore

# Drops what a process keeps in memory about a chat (its conversation, its language).
ForgetCached = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ChatAccounts:
    accounts: list[Account]  # in the order they were linked
    current_id: int | None


class AccountsService:
    def __init__(
        self,
        *,
        chats: ChatStore,
        links: LinkStore,
        conversations: ConversationStore,
        caches: Sequence[ForgetCached] = (),
        on_forget: Sequence[Callable[[int], Awaitable[None]]] = (),  # appeals close
    ) -> None:
        self.on_forget = tuple(on_forget)
        self.chats = chats
        self.links = links
        self.conversations = conversations
        self.caches = tuple(caches)

    async def of_chat(self, chat_id: int) -> ChatAccounts:
        accounts = await self.links.accounts_of(chat_id)
        if not accounts:
            return ChatAccounts([], None)
        chat = await self.chats.get(chat_id)
        return ChatAccounts(accounts, chat.current_account_id if chat else None)

    async def has_any(self, chat_id: int) -> bool:
        return bool(await self.links.accounts_of(chat_id))

    async def linked_account(self, chat_id: int, account_id: int) -> Account | None:
        """The account when the chat is linked to it, else None (a stale or crafted button)."""
        for account in await self.links.accounts_of(chat_id):
            if account.id == account_id:
                return account
        return None

    async def switch(self, chat_id: int, account_id: int) -> bool:
        """Make a linked account the current one; False when the chat is not linked to it."""
        if not await self.links.is_linked(chat_id, account_id):
            return False
        await self.chats.set_current_account(chat_id, account_id)
        return True

    async def unlink(self, chat_id: int, account_id: int) -> list[Account]:
        """Unlink; the accounts the chat keeps (the current one falls back to one of them)."""
        await self.links.unlink(chat_id, account_id)
        return await self.links.accounts_of(chat_id)

    async def forget(self, chat_id: int) -> None:
        """Erase everything kept about the chat, its conversation included, on disk and in
        memory; its submitted readings stay, anonymised."""
        for forget_elsewhere in self.on_forget:
            await forget_elsewhere(chat_id)
        await self.chats.forget(chat_id)
        await self.conversations.forget_chat(chat_id)
        for forget_cached in self.caches:
            forget_cached(chat_id)
