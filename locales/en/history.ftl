# History of readings

history-title = <b>Reading history, account { $account }</b> ({ $periods ->
    [one] the last period
   *[other] last { $periods } periods
})
history-meter = <b>{ $title }</b>
history-line = { $period }: { $values } — No. { $receipt }, { $time }
history-line-replaced = <s>{ $period }: { $values } — No. { $receipt }, { $time }</s> (replaced)
history-empty-meter = nothing submitted through the bot yet
history-csv-button = 📄 Whole history as a file (CSV)
history-csv-caption = Reading history of account { $account }
