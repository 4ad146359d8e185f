-- Every code attempted counts, however it ended (SPEC §5.4): an issue row is reserved before
-- the SMS goes out and keeps the outcome. sms_sent now means "an SMS was attempted" (the
-- details matched); sms_status is what became of it: 'none' (no SMS: the details did not
-- match, or the account's limit was reached), 'sending' (handed to the gateway, no answer yet,
-- or the process died meanwhile), 'sent' or 'failed' (sms_error: the gateway's status code or
-- the kind of failure).
ALTER TABLE otp_issues ADD COLUMN sms_status TEXT NOT NULL DEFAULT 'none'
    CHECK (sms_status IN ('none', 'sending', 'sent', 'failed'));
ALTER TABLE otp_issues ADD COLUMN sms_error TEXT;
UPDATE otp_issues SET sms_status = 'sent' WHERE sms_sent = 1;
CREATE INDEX otp_issues_failed ON otp_issues (issued_at) WHERE sms_status = 'failed';

-- The gate every code reservation passes: its one row is updated first in the reservation's
-- transaction, so reservations run one at a time on any engine (on SQLite BEGIN IMMEDIATE
-- already does it; on PostgreSQL it is the row lock), and the counts they check are current.
CREATE TABLE otp_gate (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    reservations  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO otp_gate (id, reservations) VALUES (1, 0);

-- When the admins were last told of an SMS problem, per kind ('sms-budget', 'sms-refused:201',
-- 'sms-down'): at most one alert of a kind per hour, shared by every process.
CREATE TABLE sms_alerts (
    kind     TEXT PRIMARY KEY,
    last_at  TEXT NOT NULL
);
