# Submitting readings (SPEC §6)

submit-period = { $month ->
    [1] January
    [2] February
    [3] March
    [4] April
    [5] May
    [6] June
    [7] July
    [8] August
    [9] September
    [10] October
    [11] November
   *[12] December
} { $year }

submit-overview-title = <b>Account { $account }</b>{ $address }
submit-overview-due = ▫️ { $title } — { $last }; due for { $period } (until { $closes })
submit-overview-done = ✅ { $title } — { $last }; { $period } done
submit-overview-closed = 🔒 { $title } — accepted from { $opens } to { $closes }
submit-overview-walk = { $count ->
    [one] I'll ask for the reading of one meter.
   *[other] I'll ask for { $count } meters, one after another.
} You can also pick a single meter with the buttons below.
submit-overview-all-done = Every meter whose window is open has its reading for this period. To correct one, pick it with the buttons below.
submit-outside-window = Readings are not accepted right now. The next window is from { $opens } to { $closes } (for { $period }).
submit-no-meters = I have no meters for this account. If that is wrong, contact support: { $support }.
submit-pick-button = { $mark }{ $resource } ···{ $tail } · { $last }
submit-pick-closed = Readings for { $title } are not accepted right now. The next window is from { $opens } to { $closes } (for { $period }).

submit-position = {" "}({ $n } of { $total })
submit-previous = Previous reading: { $value } on { $date }.
submit-previous-undated = Previous reading: { $value }.
submit-no-previous = I have no previous reading.
submit-ask =
    <b>{ $title }</b>{ $position }
    { $previous }
    Type the reading for { $period } — the whole part only (the black digits).
submit-ask-zone =
    <b>{ $title }</b>{ $position }
    { $previous }
    Type the reading of zone <b>{ $zone }</b> for { $period } — the whole part only (the black digits).
submit-skip = ⏭ Skip this meter

submit-invalid-empty = Send the reading in digits, for example <code>12345</code>.
submit-invalid-not-a-number = That doesn't look like a reading. Type digits only, for example <code>12345</code> or <code>12345.678</code> — I drop the fraction myself.
submit-invalid-too-many-digits = Too many digits: this meter has at most { $max ->
    [one] one digit
   *[other] { $max } digits
} before the decimal point. Type the black digits only, not the red ones.
submit-not-text = Send the reading as an ordinary message in digits, for example <code>12345</code>.
submit-fraction-dropped = I dropped the fraction and record <b>{ $value }</b>.
submit-below-previous =
    ❌ Not accepted: { $value } is below the previous reading — { $previous } on { $date }.
    Check the digits and type it again. If the meter was replaced or is broken, contact support: { $support }.
submit-rollover =
    { $value } is below the previous reading ({ $previous }). It looks like the dial went past zero — then the consumption is { $consumption } { $unit }.
    Is that right?
submit-unusual =
    That makes a consumption of { $consumption } { $unit } — far above the usual (about { $average } { $unit } on average).
    Is that right?
submit-sure-yes = Yes, it's right
submit-sure-no = No, I'll type it again

submit-value-label = Reading
submit-consumption = { $consumption } { $unit } used since { $date }
submit-consumption-none = no previous reading
submit-confirm-line = { $label }: <b>{ $value }</b> ({ $spent })
submit-confirm-text =
    <b>Check and confirm</b>
    { $title }
    { $lines }
    Period: { $period }
submit-correction-note = ⚠️ A reading for this period was already submitted — the new one will replace it.
submit-confirm = ✅ Confirm
submit-change = ✏️ Change
submit-cancel = ✖️ Cancel
submit-press-button = Press "Confirm", "Change" or "Cancel" under the message.

submit-receipt-line = { $label }: <b>{ $value }</b>
submit-receipt =
    ✅ <b>Reading accepted.</b> Receipt No. <b>{ $receipt }</b>
    { $title }
    { $lines }
    Period: { $period }
    Accepted: { $time }
submit-receipt-replaces = This reading replaces the one submitted earlier for the same period.
submit-already-saved = This reading is already saved, receipt No. { $receipt }.
submit-window-closed = The window for { $title } has just closed; the reading was not saved. The next window is from { $opens } to { $closes }.
submit-not-allowed = Could not save: this meter no longer belongs to your accounts. Open the menu again; if this is wrong, contact support: { $support }.
submit-cancelled = Cancelled: nothing was saved for this meter. Receipts already given stay valid.

submit-summary = <b>Done!</b> { $count ->
    [one] Reading of one meter submitted:
   *[other] Readings of { $count } meters submitted:
}
submit-summary-none = No readings were submitted.
submit-summary-line = { $title } — receipt No. { $receipt }
submit-summary-skipped = Skipped: { $titles }. You can submit them later while the window is open.
submit-still-due = { $count ->
    [one] One more meter is still due.
   *[other] { $count } more meters are still due.
}
submit-continue = Submit the rest ({ $count })
submit-start-again = I lost track of where we were. Press «📝 Submit readings» to start again; readings you confirmed are saved.
