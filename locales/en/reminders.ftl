## Reminders (SPEC §7) and announcements (SPEC §8)

remind-date = { $month ->
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
} { $day }
remind-period = { $month ->
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
remind-resource = { $resource ->
    [cold_water] Cold water
    [hot_water] Hot water
    [electricity] Electricity
    [gas] Gas
   *[heat] Heat
}
remind-account = account { $number }
remind-account-address = account { $number }, { $address }

remind-opening-title = 🔔 <b>Meter readings for { $period } are being accepted</b>
remind-opening-line = • account { $number } — until { $closes } inclusive
remind-opening-line-address = • account { $number }, { $address } — until { $closes } inclusive
remind-opening-footer = Press the button below to submit your readings. Without them you are billed by the average, and from the third month by the standard rate.

remind-closing-title = ⏳ <b>{ $days ->
    [0] Today is the last day to submit readings
    [one] { $days } day left to submit readings
   *[other] { $days } days left to submit readings
}</b> — until { $closes } inclusive.
remind-closing-period = Still no readings for { $period }:
remind-closing-line = • { $resource } no. …{ $serial } ({ $account })
remind-closing-footer = Without readings you are billed by the average, and from the third month by the standard rate.

remind-button-submit = 📝 Submit readings
remind-button-submit-account = 📝 Submit: account { $number }

remind-verification =
    🛠 <b>A meter's verification falls due soon</b>
    { $resource } no. …{ $serial } ({ $account }): its verification is valid until { $due } { $days ->
        [0] — that is today.
        [one] — { $days } day left.
       *[other] — { $days } days left.
    }

    After that date the meter no longer counts: its readings are not accepted and you are billed by the standard rate. Book a verification or a replacement in advance and pass the verification certificate to the billing centre or your management company.
    Questions: { $support }

## /broadcast (operators only)

broadcast-ask = Send the announcement text exactly as residents should see it (formatting is kept). /cancel to stop.
broadcast-text-only = I need text: send the announcement as an ordinary message.
broadcast-too-long = The text is too long: { $length } characters, at most 4096 allowed. Shorten it and send it again.
broadcast-preview-above = Above is the announcement as residents will see it. Recipients: <b>{ $count }</b> (linked active chats). Send it?
broadcast-no-recipients = There is nobody to send to: no linked active chats.
broadcast-confirm = ✅ Send
broadcast-cancel = ✖️ Cancel
broadcast-cancelled = Announcement cancelled; nothing was sent.
broadcast-preview-stale = This preview is out of date: only the latest one counts. Nothing was sent.
broadcast-progress = 📤 Announcement { $campaign }: sent { $sent } of { $total }, failed { $failed }.
broadcast-done = ✅ Announcement { $campaign } finished: sent { $sent } of { $total }, failed { $failed } (of them blocked the bot: { $blocked }).
broadcast-stopped = ⏸ Announcement { $campaign } paused: sent { $sent } of { $total }. The rest goes out when the bot restarts.
broadcast-quiet = 🌙 Announcement { $campaign } is waiting for the quiet hours to end: { $sent } of { $total } sent. The rest goes out at { $until }.
broadcast-retrying = ⏳ Announcement { $campaign }: { $sent } of { $total } sent. Telegram did not take some messages yet; the bot tries them again by itself (for up to a day).

admin-reminders-gave-up =
    ⚠️ Reminders could not be delivered after a day of attempts (Telegram or the network kept failing). Chats given up: { $given_up } ({ $campaigns }).
    Check the bot's connection to Telegram and the log. The next such warning comes an hour from now at the earliest.
