# History of readings

history-title = <b>История показаний, лицевой счёт { $account }</b> ({ $periods ->
    [1] последний период
    [one] последние { $periods } период
    [few] последние { $periods } периода
   *[other] последние { $periods } периодов
})
history-meter = <b>{ $title }</b>
history-line = { $period }: { $values } — № { $receipt }, { $time }
history-line-replaced = <s>{ $period }: { $values } — № { $receipt }, { $time }</s> (заменены)
history-empty-meter = через бота показаний ещё не передавали
history-csv-button = 📄 Вся история файлом (CSV)
history-csv-caption = История показаний по лицевому счёту { $account }
