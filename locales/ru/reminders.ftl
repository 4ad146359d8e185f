## Reminders (SPEC §7) and announcements (SPEC §8)

remind-date = { $day } { $month ->
    [1] января
    [2] февраля
    [3] марта
    [4] апреля
    [5] мая
    [6] июня
    [7] июля
    [8] августа
    [9] сентября
    [10] октября
    [11] ноября
   *[12] декабря
}
remind-period = { $month ->
    [1] январь
    [2] февраль
    [3] март
    [4] апрель
    [5] май
    [6] июнь
    [7] июль
    [8] август
    [9] сентябрь
    [10] октябрь
    [11] ноябрь
   *[12] декабрь
} { $year }
remind-resource = { $resource ->
    [cold_water] Холодная вода
    [hot_water] Горячая вода
    [electricity] Электроэнергия
    [gas] Газ
   *[heat] Отопление
}
remind-account = л/с { $number }
remind-account-address = л/с { $number }, { $address }

remind-opening-title = 🔔 <b>Открыт приём показаний за { $period }</b>
remind-opening-line = • л/с { $number } — до { $closes } включительно
remind-opening-line-address = • л/с { $number }, { $address } — до { $closes } включительно
remind-opening-footer = Нажмите кнопку ниже, чтобы передать показания. Если не передать их вовремя, начисление будет по среднему, а с третьего месяца — по нормативу.

remind-closing-title = ⏳ <b>{ $days ->
    [0] Сегодня последний день приёма показаний
    [one] Остался { $days } день приёма показаний
    [few] Осталось { $days } дня приёма показаний
   *[other] Осталось { $days } дней приёма показаний
}</b> — до { $closes } включительно.
remind-closing-period = Ещё нет показаний за { $period }:
remind-closing-line = • { $resource } № …{ $serial } ({ $account })
remind-closing-footer = Без показаний начисление будет по среднему, а с третьего месяца — по нормативу.

remind-button-submit = 📝 Передать показания
remind-button-submit-account = 📝 Передать: л/с { $number }

remind-verification =
    🛠 <b>Подходит срок поверки счётчика</b>
    { $resource } № …{ $serial } ({ $account }): поверка действительна до { $due } { $days ->
        [0] — это сегодня.
        [one] — остался { $days } день.
        [few] — осталось { $days } дня.
       *[other] — осталось { $days } дней.
    }

    После этой даты счётчик считается непригодным к учёту: показания с него не принимаются, а начисление идёт по нормативу. Закажите поверку или замену заранее и передайте документ о поверке в расчётный центр или управляющую компанию.
    Вопросы: { $support }

## /broadcast (operators only)

broadcast-ask = Пришлите текст объявления — ровно так, как его должны увидеть жители (форматирование сохранится). /cancel — отмена.
broadcast-text-only = Нужен текст: пришлите объявление обычным сообщением.
broadcast-too-long = Текст слишком длинный: { $length ->
    [one] { $length } символ
    [few] { $length } символа
   *[other] { $length } символов
}, а можно не больше 4096. Сократите его и пришлите снова.
broadcast-preview-above = Выше — объявление так, как его увидят жители. Получателей: <b>{ $count }</b> (привязанные активные чаты). Отправить?
broadcast-no-recipients = Отправлять некому: нет ни одного привязанного активного чата.
broadcast-confirm = ✅ Отправить
broadcast-cancel = ✖️ Отмена
broadcast-cancelled = Рассылка отменена, ничего не отправлено.
broadcast-preview-stale = Этот предпросмотр устарел: действует последний. Ничего не отправлено.
broadcast-progress = 📤 Рассылка { $campaign }: отправлено { $sent } из { $total }, не доставлено { $failed }.
broadcast-done = ✅ Рассылка { $campaign } завершена: отправлено { $sent } из { $total }, не доставлено { $failed } (из них заблокировали бота: { $blocked }).
broadcast-stopped = ⏸ Рассылка { $campaign } приостановлена: отправлено { $sent } из { $total }. Остальное уйдёт после перезапуска бота.
broadcast-quiet = 🌙 Рассылка { $campaign } ждёт конца тихих часов: отправлено { $sent } из { $total }. Остальное уйдёт в { $until }.
broadcast-retrying = ⏳ Рассылка { $campaign }: отправлено { $sent } из { $total }. Часть сообщений Telegram пока не принял — бот повторит их сам (пробует до суток).

admin-reminders-gave-up =
    ⚠️ Напоминания не удалось доставить после суток попыток (Telegram или сеть отвечали ошибками). Чатов, от которых отказались: { $given_up } ({ $campaigns }).
    Проверьте связь бота с Telegram и журнал. Следующее такое предупреждение — не раньше чем через час.
