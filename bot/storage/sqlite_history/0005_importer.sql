-- Messages to chats decided where no bot runs (an import from the command line has no token):
-- queued here in the transaction that decides them, sent by the running bot
-- (bot/services/notices.py), in the chat's language. sent_at is set once the notice is done:
-- outcome 'sent', 'blocked' (403: the chat blocked the bot) or 'failed' (Telegram refused it).
CREATE TABLE notices (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,  -- 'phone-changed'; the service knows each kind's text
    args        TEXT NOT NULL DEFAULT '{}',  -- JSON: what the text needs
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    outcome     TEXT CHECK (outcome IN ('sent', 'blocked', 'failed')),
    CHECK ((sent_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX notices_pending ON notices (id) WHERE sent_at IS NULL;
-- /forget deletes the chat, and its notices with it
CREATE INDEX notices_chat ON notices (chat_id);

-- A flat sold must not keep its old owner in (SPEC §5.8): when the phone on file of an account
-- changes (an import, later a sync), every link made with the old phone ends, in the same
-- statement: the chats are told why (a notice), their current account moves to another linked
-- one or none, and a code sent to the old phone dies. Readings stay with the account.
-- Writers that change a phone set updated_at with it: it dates the notice.
CREATE TRIGGER accounts_phone_changed AFTER UPDATE OF phone ON accounts
WHEN OLD.phone IS NOT NEW.phone
BEGIN
    INSERT INTO notices (chat_id, kind, args, created_at)
    SELECT chat_id, 'phone-changed', json_object('account', NEW.number), NEW.updated_at
    FROM links WHERE account_id = NEW.id ORDER BY linked_at;
    UPDATE chats SET current_account_id = (
        SELECT l.account_id FROM links AS l
        WHERE l.chat_id = chats.chat_id AND l.account_id <> NEW.id
        ORDER BY l.linked_at LIMIT 1
    )
    WHERE chat_id IN (SELECT chat_id FROM links WHERE account_id = NEW.id)
        AND current_account_id = NEW.id;
    DELETE FROM links WHERE account_id = NEW.id;
    DELETE FROM otp_codes WHERE account_id = NEW.id;
END;
