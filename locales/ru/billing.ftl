# Readings and the billing system (SPEC §10)

notice-billing-refused =
    ⚠️ Расчётный центр не принял показания по расписке № <b>{ $receipt }</b> ({ meters-resource }, счётчик …{ $meter }, период { $period }).
    Причина: { $reason }
    Проверьте показания и передайте их заново через «Передать показания», пока открыто окно приёма. Если показания верны, обратитесь в поддержку: { $support }.
notice-billing-refused-plain =
    ⚠️ Расчётный центр не принял показания по расписке № <b>{ $receipt }</b> ({ meters-resource }, счётчик …{ $meter }, период { $period }).
    Проверьте показания и передайте их заново через «Передать показания», пока открыто окно приёма. Если показания верны, обратитесь в поддержку: { $support }.
alert-billing-gone = ⛔ Расчётная система ответила 410 Gone: отправка показаний по BILLING_WEBHOOK_URL остановлена, события ждут. Укажите новый адрес в BILLING_WEBHOOK_URL или, когда адрес снова работает, выполните <code>python -m bot outbox --retry-dead</code>.
alert-billing-dead = ⚠️ Показания не доставлены в расчётную систему за три дня попыток: { $count } шт. Подробности и повторная отправка: <code>python -m bot outbox</code>, <code>python -m bot outbox --retry-dead</code>.
stats-outbox =
    <b>Передача в расчётную систему</b>
    Ждут отправки: { $pending }
    Доставлено: { $delivered }, отклонено: { $refused }, не доставлено за три дня: { $dead }
stats-outbox-oldest = Самое давнее ждёт { $minutes } мин.
stats-outbox-stopped = ⛔ Отправка остановлена: расчётная система ответила 410 Gone.
stats-outbox-off = Передача в расчётную систему выключена (BILLING_WEBHOOK_URL не задан).
