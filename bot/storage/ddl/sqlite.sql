-- generated from bot/storage/schema.py by `make schema`; do not edit (sqlite)
CREATE TABLE accounts (
	id INTEGER NOT NULL, 
	number TEXT NOT NULL, 
	phone TEXT NOT NULL, 
	address TEXT, 
	updated_at TEXT NOT NULL, 
	els TEXT, 
	closed_at TEXT, 
	PRIMARY KEY (id), 
	CHECK (phone GLOB '+[0-9]*'), 
	UNIQUE (number)
);

CREATE TABLE campaigns (
	id TEXT NOT NULL, 
	kind TEXT NOT NULL, 
	params TEXT DEFAULT '{}' NOT NULL, 
	expires_on TEXT, 
	created_at TEXT NOT NULL, 
	materialised_at TEXT, 
	finished_at TEXT, 
	admin_chat_id BIGINT, 
	progress_message_id BIGINT, 
	PRIMARY KEY (id), 
	CHECK (kind IN ('opening', 'closing', 'verification', 'broadcast'))
);

CREATE INDEX campaigns_unfinished ON campaigns (kind) WHERE finished_at IS NULL;

CREATE TABLE fsm_states (
	"key" TEXT NOT NULL, 
	chat_id BIGINT NOT NULL, 
	state TEXT, 
	data TEXT DEFAULT '{}' NOT NULL, 
	PRIMARY KEY ("key")
);

CREATE INDEX fsm_states_chat ON fsm_states (chat_id);

CREATE TABLE otp_gate (
	id INTEGER NOT NULL, 
	reservations BIGINT DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id), 
	CHECK (id = 1)
);

CREATE TABLE outbox_gone (
	id INTEGER NOT NULL, 
	url TEXT NOT NULL, 
	at TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CHECK (id = 1)
);

CREATE TABLE private_only_notices (
	chat_id BIGINT NOT NULL, 
	told_at TEXT NOT NULL, 
	PRIMARY KEY (chat_id)
);

CREATE TABLE sms_alerts (
	kind TEXT NOT NULL, 
	last_at TEXT NOT NULL, 
	PRIMARY KEY (kind)
);

CREATE TABLE snapshot_sources (
	url TEXT NOT NULL, 
	etag TEXT, 
	fetched_at TEXT NOT NULL, 
	PRIMARY KEY (url)
);

CREATE TABLE appeals (
	id INTEGER NOT NULL, 
	chat_id BIGINT, 
	account_id INTEGER, 
	topic TEXT NOT NULL, 
	first_name TEXT, 
	locale TEXT, 
	status TEXT DEFAULT 'open' NOT NULL, 
	thread_id BIGINT, 
	created_at TEXT NOT NULL, 
	waiting_since TEXT, 
	sla_alerted_at TEXT, 
	answered_at TEXT, 
	closed_at TEXT, 
	rating INTEGER, 
	PRIMARY KEY (id), 
	CHECK (topic IN ('meter', 'previous', 'verification', 'bill', 'other')), 
	CHECK (status IN ('open', 'closed')), 
	CHECK (rating BETWEEN 1 AND 5), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE SET NULL, 
	UNIQUE (thread_id)
);

CREATE INDEX appeals_chat ON appeals (chat_id) WHERE chat_id IS NOT NULL;

CREATE INDEX appeals_open ON appeals (created_at) WHERE status = 'open';

CREATE TABLE chats (
	chat_id BIGINT NOT NULL, 
	locale TEXT, 
	active INTEGER DEFAULT 1 NOT NULL, 
	current_account_id INTEGER, 
	remind_opening INTEGER DEFAULT 1 NOT NULL, 
	remind_closing INTEGER DEFAULT 1 NOT NULL, 
	remind_verification INTEGER DEFAULT 1 NOT NULL, 
	created_at TEXT NOT NULL, 
	PRIMARY KEY (chat_id), 
	CHECK (locale IN ('ru', 'en')), 
	FOREIGN KEY(current_account_id) REFERENCES accounts (id) ON DELETE SET NULL
);

CREATE INDEX chats_inactive ON chats (chat_id) WHERE active = 0;

CREATE TABLE delivery_runs (
	run TEXT NOT NULL, 
	campaign TEXT NOT NULL, 
	batch INTEGER DEFAULT 0 NOT NULL, 
	started_through BIGINT, 
	PRIMARY KEY (run), 
	FOREIGN KEY(campaign) REFERENCES campaigns (id) ON DELETE CASCADE
);

CREATE INDEX delivery_runs_campaign ON delivery_runs (campaign);

CREATE TABLE meters (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	serial TEXT NOT NULL, 
	resource TEXT NOT NULL, 
	tariffs INTEGER DEFAULT 1 NOT NULL, 
	digits INTEGER, 
	verified_until TEXT, 
	window_start INTEGER, 
	window_end INTEGER, 
	last_t1 BIGINT, 
	last_t2 BIGINT, 
	last_t3 BIGINT, 
	last_date TEXT, 
	gis_meter_number TEXT, 
	closed_at TEXT, 
	replaced_by INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (account_id, serial), 
	CHECK (resource IN ('cold_water', 'hot_water', 'electricity', 'gas', 'heat')), 
	CHECK (tariffs BETWEEN 1 AND 3), 
	CHECK (digits BETWEEN 1 AND 9), 
	CHECK (window_start BETWEEN 1 AND 31), 
	CHECK (window_end BETWEEN 1 AND 31), 
	CHECK (last_t1 >= 0), 
	CHECK (last_t2 >= 0), 
	CHECK (last_t3 >= 0), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE TABLE otp_issues (
	id INTEGER NOT NULL, 
	chat_ref TEXT NOT NULL, 
	account_id INTEGER, 
	sms_sent INTEGER NOT NULL, 
	issued_at TEXT NOT NULL, 
	sms_status TEXT DEFAULT 'none' NOT NULL, 
	sms_error TEXT, 
	PRIMARY KEY (id), 
	CHECK (sms_status IN ('none', 'sending', 'sent', 'failed')), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE SET NULL
);

CREATE INDEX otp_issues_account ON otp_issues (account_id, issued_at);

CREATE INDEX otp_issues_chat ON otp_issues (chat_ref, issued_at);

CREATE INDEX otp_issues_failed ON otp_issues (issued_at) WHERE sms_status = 'failed';

CREATE INDEX otp_issues_time ON otp_issues (issued_at);

CREATE TABLE appeal_messages (
	id INTEGER NOT NULL, 
	appeal_id INTEGER NOT NULL, 
	author TEXT NOT NULL, 
	kind TEXT NOT NULL, 
	body TEXT, 
	source_id BIGINT, 
	copy_id BIGINT, 
	created_at TEXT NOT NULL, 
	delivered_at TEXT, 
	PRIMARY KEY (id), 
	CHECK (author IN ('resident', 'operator')), 
	CHECK (kind IN ('text', 'photo', 'document', 'media')), 
	FOREIGN KEY(appeal_id) REFERENCES appeals (id) ON DELETE CASCADE
);

CREATE INDEX appeal_messages_appeal ON appeal_messages (appeal_id, id);

CREATE INDEX appeal_messages_undelivered ON appeal_messages (appeal_id) WHERE delivered_at IS NULL;

CREATE TABLE deliveries (
	campaign TEXT NOT NULL, 
	chat_id BIGINT NOT NULL, 
	status TEXT DEFAULT 'pending' NOT NULL, 
	updated_at TEXT NOT NULL, 
	owner TEXT, 
	batch INTEGER, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	failing_since TEXT, 
	retry_at TEXT, 
	deferred_since TEXT, 
	PRIMARY KEY (campaign, chat_id), 
	CHECK (status IN ('pending', 'claimed', 'sent', 'failed', 'blocked', 'skipped', 'unknown', 'given_up')), 
	FOREIGN KEY(campaign) REFERENCES campaigns (id) ON DELETE CASCADE, 
	FOREIGN KEY(chat_id) REFERENCES chats (chat_id) ON DELETE CASCADE
)
 WITHOUT ROWID;

CREATE INDEX deliveries_chat ON deliveries (chat_id);

CREATE INDEX deliveries_pending ON deliveries (campaign, chat_id) WHERE status = 'pending';

CREATE TABLE links (
	chat_id BIGINT NOT NULL, 
	account_id INTEGER NOT NULL, 
	linked_at TEXT NOT NULL, 
	PRIMARY KEY (chat_id, account_id), 
	FOREIGN KEY(chat_id) REFERENCES chats (chat_id) ON DELETE CASCADE, 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE INDEX links_account ON links (account_id);

CREATE TABLE notices (
	id INTEGER NOT NULL, 
	chat_id BIGINT NOT NULL, 
	kind TEXT NOT NULL, 
	args TEXT DEFAULT '{}' NOT NULL, 
	created_at TEXT NOT NULL, 
	sent_at TEXT, 
	outcome TEXT, 
	PRIMARY KEY (id), 
	CHECK (outcome IN ('sent', 'blocked', 'failed')), 
	CHECK ((sent_at IS NULL) = (outcome IS NULL)), 
	FOREIGN KEY(chat_id) REFERENCES chats (chat_id) ON DELETE CASCADE
);

CREATE INDEX notices_chat ON notices (chat_id);

CREATE INDEX notices_pending ON notices (id) WHERE sent_at IS NULL;

CREATE TABLE otp_codes (
	chat_id BIGINT NOT NULL, 
	account_id INTEGER, 
	code_hash TEXT NOT NULL, 
	expires_at TEXT NOT NULL, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	sent_at TEXT NOT NULL, 
	PRIMARY KEY (chat_id), 
	FOREIGN KEY(chat_id) REFERENCES chats (chat_id) ON DELETE CASCADE, 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE TABLE readings (
	id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	period TEXT NOT NULL, 
	t1 BIGINT NOT NULL, 
	t2 BIGINT, 
	t3 BIGINT, 
	submitted_at TEXT NOT NULL, 
	chat_id BIGINT, 
	receipt TEXT NOT NULL, 
	request_key TEXT, 
	replaced_at TEXT, 
	PRIMARY KEY (id), 
	CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'), 
	CHECK (t1 >= 0), 
	CHECK (t2 >= 0), 
	CHECK (t3 >= 0), 
	FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE CASCADE, 
	UNIQUE (receipt), 
	UNIQUE (request_key)
);

CREATE INDEX readings_chat ON readings (chat_id) WHERE chat_id IS NOT NULL;

CREATE UNIQUE INDEX readings_one_current ON readings (meter_id, period) WHERE replaced_at IS NULL;

CREATE INDEX readings_period ON readings (period, meter_id);

CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	event_id TEXT NOT NULL, 
	type TEXT NOT NULL, 
	reading_id INTEGER NOT NULL, 
	meter_id INTEGER NOT NULL, 
	created_at TEXT NOT NULL, 
	status TEXT DEFAULT 'pending' NOT NULL, 
	next_at TEXT NOT NULL, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	failing_since TEXT, 
	claim TEXT, 
	claimed_until TEXT, 
	last_error TEXT, 
	settled_at TEXT, 
	PRIMARY KEY (id), 
	CHECK (type IN ('reading.accepted', 'reading.replaced')), 
	CHECK (status IN ('pending', 'delivered', 'refused', 'dead')), 
	UNIQUE (event_id), 
	FOREIGN KEY(reading_id) REFERENCES readings (id) ON DELETE CASCADE, 
	FOREIGN KEY(meter_id) REFERENCES meters (id) ON DELETE CASCADE
);

CREATE INDEX outbox_dead ON outbox (id) WHERE status = 'dead';

CREATE INDEX outbox_due ON outbox (next_at) WHERE status = 'pending';

CREATE INDEX outbox_pending ON outbox (meter_id, id) WHERE status = 'pending';

