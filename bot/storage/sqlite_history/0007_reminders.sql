-- Deliveries that survive a kill and an outage (issue 9). The table is rebuilt to widen its
-- statuses and add the retry columns:
--   pending → claimed (held by a run: owner = the run, batch = which of its claims)
--           → sent | failed | blocked | skipped | unknown | given_up
-- Before a request goes out, its run's row in delivery_runs says so: within the batch being
-- sent, every chat up to `started_through` may have been sent. A killed run's claimed rows
-- at or below that mark (or of an earlier batch, their answer not yet written) become
-- 'unknown' and are never sent again (at most once, SPEC §7); the others, never sent, are
-- pending again. 'sending' rows of the old scheme (a whole claim, outcome unknown) become
-- 'unknown' here.
-- A send that failed for a passing reason (5xx, 429, no connection) goes back to 'pending'
-- with `retry_at`; after a day of failures (`failing_since`) it is 'given_up'.
CREATE TABLE deliveries_v4 (
    campaign        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'claimed', 'sent', 'failed', 'blocked', 'skipped',
                          'unknown', 'given_up')),
    updated_at      TEXT NOT NULL,
    owner           TEXT,  -- the run holding a 'claimed' row
    batch           INTEGER,  -- which of that run's claims
    attempts        INTEGER NOT NULL DEFAULT 0,  -- passing failures so far
    failing_since   TEXT,  -- the first of them
    retry_at        TEXT,  -- a pending row is not tried before this moment
    deferred_since  TEXT,  -- first held back because the resident was in a submission walk
    PRIMARY KEY (campaign, chat_id)
) WITHOUT ROWID;
INSERT INTO deliveries_v4 (campaign, chat_id, status, updated_at)
    SELECT campaign, chat_id, CASE status WHEN 'sending' THEN 'unknown' ELSE status END,
           updated_at
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v4 RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (campaign, chat_id) WHERE status = 'pending';
-- /forget deletes the chat, and its deliveries with it
CREATE INDEX deliveries_chat ON deliveries (chat_id);

-- Every run that holds claimed rows, and how far it has gone: a run is '<process>/<n>', the
-- process known alive while it holds its lock file (bot/services/owners.py). Removed when the
-- run ends with all its rows settled, or when a later run resolves the rows of a dead one.
CREATE TABLE delivery_runs (
    run              TEXT PRIMARY KEY,
    campaign         TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    batch            INTEGER NOT NULL DEFAULT 0,  -- the batch whose requests are going out
    started_through  INTEGER  -- in it, every chat up to this one may have been sent
);
CREATE INDEX delivery_runs_campaign ON delivery_runs (campaign);
