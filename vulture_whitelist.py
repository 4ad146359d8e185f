"""Names vulture (`make lint`, 60 % confidence) reports as unused that are not dead: each
line says why. Framework entry points (aiogram handlers, click commands, pydantic validators)
are ignored by decorator in pyproject.toml's [tool.vulture]."""

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.background import Background
from bot.clock import FrozenClock
from bot.domain.models import Account, Chat, Meter, Resource
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.services.importer.report import ImportReport
from bot.services.importer.rows import ImportRow
from bot.storage import schema
from bot.storage.deliveries import DeliveryRepository
from bot.storage.engines import opened
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
ImportRow.gis_meter_number
ImportRow.els

# ГИС ЖКХ's identifiers of a meter and an account, read by the outbox payload (SPEC §10)
Account.els
Meter.gis_meter_number

# openpyxl reads a cell's number format and data type, and a sheet's frozen panes, when it
# writes the workbook
WriteOnlyCell.number_format
WriteOnlyCell.data_type
WriteOnlyWorksheet.freeze_panes

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


# tables declared for the schema (bot/storage/schema.py) that no Python code names
schema.otp_codes
schema.otp_gate
schema.sms_alerts
schema.private_only_notices
schema.snapshot_sources
schema.outbox_gone

# a test's one-off database for the length of a block
opened
