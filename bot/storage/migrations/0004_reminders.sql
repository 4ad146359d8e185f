-- Deliveries that survive a kill and an outage (issue 9). The table is rebuilt to widen its
-- statuses and add the retry columns:
--   pending → claimed (held by a run, owner = that process; nothing sent yet)
--           → sending (written just before the request goes out)
--           → sent | failed | blocked | skipped | unknown | given_up
-- A killed process leaves its 'claimed' rows, which the next run sends, and its 'sending'
-- rows, the requests under way when it died: nobody knows whether they arrived, so they become
-- 'unknown' and are never sent again (at most once, SPEC §7). 'sending' rows from before this
-- migration have no owner and become 'unknown' the same way.
-- A send that failed for a passing reason (5xx, 429, no connection) goes back to 'pending'
-- with `retry_at`; after a day of failures (`failing_since`) it is 'given_up'.
CREATE TABLE deliveries_v4 (
    campaign        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'claimed', 'sending', 'sent', 'failed', 'blocked',
                          'skipped', 'unknown', 'given_up')),
    updated_at      TEXT NOT NULL,
    owner           TEXT,  -- the process holding a 'claimed' or 'sending' row
    attempts        INTEGER NOT NULL DEFAULT 0,  -- passing failures so far
    failing_since   TEXT,  -- the first of them
    retry_at        TEXT,  -- a pending row is not tried before this moment
    deferred_since  TEXT,  -- first held back because the resident was in a submission walk
    PRIMARY KEY (campaign, chat_id)
) WITHOUT ROWID;
INSERT INTO deliveries_v4 (campaign, chat_id, status, updated_at)
    SELECT campaign, chat_id, status, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v4 RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (campaign, chat_id) WHERE status = 'pending';
CREATE INDEX deliveries_held ON deliveries (campaign, owner)
    WHERE status IN ('claimed', 'sending');
-- /forget deletes the chat, and its deliveries with it
CREATE INDEX deliveries_chat ON deliveries (chat_id);
