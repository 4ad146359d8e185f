# Operators: /stats and /export (SPEC §8)

stats-text =
    <b>Статистика за { $period }</b>
    Привязанных чатов: { $linked_chats }
    Лицевых счетов: { $accounts } (привязано: { $linked_accounts })
    Счётчиков: { $meters }
    С показаниями за период: { $with_reading } ({ NUMBER($share, style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1) })
    Передач показаний: { $submissions } (из них заменено: { $corrections })
stats-bad-period = Укажите период в виде ГГГГ-ММ, например <code>/stats 2026-11</code>.
export-bad-period = Укажите период в виде ГГГГ-ММ, например <code>/export 2026-11</code>.
export-caption = Показания за { $period }: { $rows ->
    [one] { $rows } строка
    [few] { $rows } строки
   *[other] { $rows } строк
}
export-caption-zipped = Показания за { $period }: { $rows ->
    [one] { $rows } строка
    [few] { $rows } строки
   *[other] { $rows } строк
}. Файл больше 50 МБ, поэтому он в архиве ZIP.
export-too-large = Показания за { $period } ({ $rows ->
    [one] { $rows } строка
    [few] { $rows } строки
   *[other] { $rows } строк
}) не помещаются в 50 МБ даже в архиве. Выгрузите их на сервере: <code>python -m bot export --period { $code } --output FILE</code>.
stats-chart-title = Доля счётчиков с показаниями по дням окна приёма (всего счётчиков: { $meters })
stats-chart-days = День окна приёма
stats-chart-share = Счётчиков с показаниями
