# Operators: /stats and /export (SPEC §8)

stats-text =
    <b>Figures for { $period }</b>
    Linked chats: { $linked_chats }
    Accounts: { $accounts } ({ $linked_accounts } linked)
    Meters: { $meters }
    With a reading for the period: { $with_reading } ({ NUMBER($share, style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1) })
    Submissions: { $submissions } ({ $corrections } replaced)
stats-bad-period = Give the period as YYYY-MM, for example <code>/stats 2026-11</code>.
export-bad-period = Give the period as YYYY-MM, for example <code>/export 2026-11</code>.
export-caption = Readings for { $period }: { $rows ->
    [one] { $rows } row
   *[other] { $rows } rows
}
export-caption-zipped = Readings for { $period }: { $rows ->
    [one] { $rows } row
   *[other] { $rows } rows
}. The file is larger than 50 MB, so it comes zipped.
export-too-large = The readings for { $period } ({ $rows ->
    [one] { $rows } row
   *[other] { $rows } rows
}) exceed 50 MB even zipped. Export them on the server: <code>python -m bot export --period { $code } --output FILE</code>.
stats-chart-title = Share of meters read by day of the submission window ({ $meters } meters)
stats-chart-days = Day of the window
stats-chart-share = Meters with a reading
