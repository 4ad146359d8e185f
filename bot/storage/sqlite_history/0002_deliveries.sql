-- Reminders and announcements. A campaign is one reminder ("opening:2026-11-15",
-- "closing:2026-12-03", "verification:<meter id>:<due date>") or one announcement
-- ("broadcast:<n>"); it gets one delivery row per recipient chat before anything is sent, so a
-- run that dies resumes where it stopped and no chat gets the same campaign twice.
CREATE TABLE campaigns (
    id                   TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL
        CHECK (kind IN ('opening', 'closing', 'verification', 'broadcast')),
    params               TEXT NOT NULL DEFAULT '{}',  -- JSON: what selection and text need
    expires_on           TEXT,  -- local date; unsent rows are dropped after it (window closed)
    created_at           TEXT NOT NULL,
    materialised_at      TEXT,  -- every recipient has its delivery row
    finished_at          TEXT,  -- nothing is pending any more
    admin_chat_id        INTEGER,  -- broadcast: the chat and message that show progress
    progress_message_id  INTEGER
);
CREATE INDEX campaigns_unfinished ON campaigns (kind) WHERE finished_at IS NULL;

-- pending → sending (claimed by a run, just before the send) → sent | failed | blocked;
-- skipped = no longer due (kind switched off, chat inactive or unlinked, reading submitted,
-- window closed). A row left in 'sending' by a killed process is never sent again: a missed
-- reminder is better than a duplicate (SPEC §7).
CREATE TABLE deliveries (
    campaign    TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
    status      TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'skipped')),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (campaign, chat_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_pending ON deliveries (campaign, chat_id) WHERE status = 'pending';
-- /forget deletes the chat, and its deliveries with it
CREATE INDEX deliveries_chat ON deliveries (chat_id);
