-- Accounts and meters, as loaded from the billing system.
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    number      TEXT NOT NULL UNIQUE,
    phone       TEXT NOT NULL CHECK (phone GLOB '+[0-9]*'),
    address     TEXT,
    updated_at  TEXT NOT NULL
);

CREATE TABLE meters (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    serial          TEXT NOT NULL,
    resource        TEXT NOT NULL
        CHECK (resource IN ('cold_water', 'hot_water', 'electricity', 'gas', 'heat')),
    tariffs         INTEGER NOT NULL DEFAULT 1 CHECK (tariffs BETWEEN 1 AND 3),
    digits          INTEGER CHECK (digits BETWEEN 1 AND 9),
    verified_until  TEXT,
    window_start    INTEGER CHECK (window_start BETWEEN 1 AND 31),
    window_end      INTEGER CHECK (window_end BETWEEN 1 AND 31),
    -- the last reading the billing system knows (from import); submissions live in readings
    last_t1         INTEGER CHECK (last_t1 >= 0),
    last_t2         INTEGER CHECK (last_t2 >= 0),
    last_t3         INTEGER CHECK (last_t3 >= 0),
    last_date       TEXT,
    UNIQUE (account_id, serial)
);

-- Readings submitted through the bot. A correction marks the earlier one replaced.
CREATE TABLE readings (
    id            INTEGER PRIMARY KEY,
    meter_id      INTEGER NOT NULL REFERENCES meters(id) ON DELETE CASCADE,
    period        TEXT NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    t1            INTEGER NOT NULL CHECK (t1 >= 0),
    t2            INTEGER CHECK (t2 >= 0),
    t3            INTEGER CHECK (t3 >= 0),
    submitted_at  TEXT NOT NULL,
    chat_id       INTEGER,
    receipt       TEXT NOT NULL UNIQUE,
    request_key   TEXT UNIQUE,
    replaced_at   TEXT
);
CREATE UNIQUE INDEX readings_one_current ON readings (meter_id, period) WHERE replaced_at IS NULL;
CREATE INDEX readings_period ON readings (period, meter_id);
CREATE INDEX readings_chat ON readings (chat_id) WHERE chat_id IS NOT NULL;

-- Chats that talk to the bot, and their settings.
CREATE TABLE chats (
    chat_id              INTEGER PRIMARY KEY,
    locale               TEXT CHECK (locale IN ('ru', 'en')),
    active               INTEGER NOT NULL DEFAULT 1,
    current_account_id   INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    remind_opening       INTEGER NOT NULL DEFAULT 1,
    remind_closing       INTEGER NOT NULL DEFAULT 1,
    remind_verification  INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL
);

CREATE TABLE links (
    chat_id     INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    linked_at   TEXT NOT NULL,
    PRIMARY KEY (chat_id, account_id)
);
CREATE INDEX links_account ON links (account_id);

-- The one pending code of a chat; account_id is NULL when the details did not match
-- (the resident is told the same thing either way, and no SMS goes out).
CREATE TABLE otp_codes (
    chat_id     INTEGER PRIMARY KEY REFERENCES chats(chat_id) ON DELETE CASCADE,
    account_id  INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    sent_at     TEXT NOT NULL
);

-- Codes issued, for the daily limits. chat_ref is a keyed hash of the chat id, so the counter
-- survives /forget without keeping the chat id; rows older than a day are pruned.
CREATE TABLE otp_issues (
    id          INTEGER PRIMARY KEY,
    chat_ref    TEXT NOT NULL,
    account_id  INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    sms_sent    INTEGER NOT NULL,
    issued_at   TEXT NOT NULL
);
CREATE INDEX otp_issues_chat ON otp_issues (chat_ref, issued_at);
CREATE INDEX otp_issues_account ON otp_issues (account_id, issued_at);
CREATE INDEX otp_issues_time ON otp_issues (issued_at);

-- aiogram FSM state, so a conversation survives a restart.
CREATE TABLE fsm_states (
    key      TEXT PRIMARY KEY,
    chat_id  INTEGER NOT NULL,
    state    TEXT,
    data     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX fsm_states_chat ON fsm_states (chat_id);
CREATE INDEX chats_inactive ON chats (chat_id) WHERE active = 0;
