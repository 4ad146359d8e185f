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
stats-chart-title = Доля счётчиков с показаниями по дням окна приёма (всего счётчиков: { $meters })
stats-chart-days = День окна приёма
stats-chart-share = Счётчиков с показаниями
