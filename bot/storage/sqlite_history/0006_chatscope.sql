-- Groups, supergroups and channels the bot told, once, that it works in private chats only
-- (SPEC §5.1). Remembered across restarts; nothing else is kept about such chats.
CREATE TABLE private_only_notices (
    chat_id  INTEGER PRIMARY KEY,
    told_at  TEXT NOT NULL
);
