"""Names vulture (`make lint`, 60 % confidence) reports as unused that are not dead: each
line says why. Framework entry points (aiogram handlers, click commands, pydantic validators)
are ignored by decorator in pyproject.toml's [tool.vulture]."""

from bot.background import Background
from bot.clock import FrozenClock
from bot.domain.models import Chat, Resource
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.leadership import lease_for, open_owner
from bot.services.importer.report import ImportReport
from bot.services.importer.rows import ImportRow
from bot.startup import take_database_instance_lock
from bot.storage.deliveries import DeliveryRepository
from bot.storage.otp import StoredCode

# values read from the database or a file by value (Resource("gas")), not by name
Resource.COLD_WATER
Resource.HOT_WATER
Resource.GAS
Resource.HEAT

# fields that mirror a table row in full, so a row reads back as one value
Chat.remind_opening
Chat.remind_closing
Chat.remind_verification
Chat.created_at
StoredCode.sent_at
ImportRow.last_t1
ImportRow.last_t2
ImportRow.last_t3

# domain vocabulary the unit tests state their rules in (test_periods, test_windows,
# test_import_load)
Period.first_day
Period.last_day
SubmissionWindow.opens_on
SubmissionWindow.closes_in
ImportReport.unchanged

# what tests and benchmarks drive or read the running bot by: its time, its background work
# settled, a campaign's recipients put in place and the claims a kill would leave unsettled
FrozenClock
Background.settle
DeliveryRepository.add_recipients
DeliveryRepository.unsettled

# the leader lease and the single-instance rule for PostgreSQL and Redis: built and tested
# (tests/unit/test_leadership.py, test_postgres_locks.py), chosen by `build_app` and `run`
# once DATABASE_URL may be postgresql:// and REDIS_URL exists
lease_for
open_owner
take_database_instance_lock
