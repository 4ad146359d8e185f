# Submitting readings (SPEC §6)

submit-period = { $month ->
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

submit-overview-title = <b>Лицевой счёт { $account }</b>{ $address }
submit-overview-due = ▫️ { $title } — { $last }; ждёт показаний за { $period } (до { $closes })
submit-overview-done = ✅ { $title } — { $last }; за { $period } передано
submit-overview-closed = 🔒 { $title } — приём с { $opens } по { $closes }
submit-overview-walk = { $count ->
    [1] Спрошу показания одного счётчика.
    [one] Спрошу показания { $count } счётчика по очереди.
   *[other] Спрошу показания { $count } счётчиков по очереди.
} Можно и выбрать один счётчик кнопкой ниже.
submit-overview-all-done = За этот период показания всех счётчиков с открытым приёмом уже переданы. Чтобы исправить, выберите счётчик кнопкой ниже.
submit-outside-window = Сейчас приём показаний закрыт. Следующий приём — с { $opens } по { $closes } (за { $period }).
submit-no-meters = По этому лицевому счёту у меня нет ни одного счётчика. Если это ошибка, обратитесь в поддержку: { $support }.
submit-pick-button = { $mark }{ $resource } ···{ $tail } · { $last }
submit-pick-closed = Приём показаний счётчика { $title } сейчас закрыт. Следующий приём — с { $opens } по { $closes } (за { $period }).

submit-position = {" "}({ $n } из { $total })
submit-previous = Предыдущие показания: { $value } от { $date }.
submit-previous-undated = Предыдущие показания: { $value }.
submit-no-previous = Предыдущих показаний у меня нет.
submit-ask =
    <b>{ $title }</b>{ $position }
    { $previous }
    Введите показания за { $period } — только целую часть (чёрные цифры).
submit-ask-zone =
    <b>{ $title }</b>{ $position }
    { $previous }
    Введите показания зоны <b>{ $zone }</b> за { $period } — только целую часть (чёрные цифры).
submit-skip = ⏭ Пропустить этот счётчик

submit-invalid-empty = Пришлите показания цифрами, например <code>12345</code>.
submit-invalid-not-a-number = Это не похоже на показания. Введите только цифры, например <code>12345</code> или <code>12345,678</code> — дробную часть я отброшу сам.
submit-invalid-too-many-digits = Слишком много цифр: у этого счётчика не больше { $max ->
    [one] { $max } цифры
   *[other] { $max } цифр
} до запятой. Введите только чёрные цифры, без красных.
submit-not-text = Пришлите показания обычным сообщением, цифрами — например <code>12345</code>.
submit-fraction-dropped = Дробную часть я отбросил, записываю <b>{ $value }</b>.
submit-below-previous =
    ❌ Не принято: { $value } меньше предыдущих показаний — { $previous } от { $date }.
    Проверьте цифры и введите ещё раз. Если счётчик заменили или он неисправен, обратитесь в поддержку: { $support }.
submit-rollover =
    Значение { $value } меньше предыдущего ({ $previous }). Похоже, счётчик прошёл через ноль — тогда расход { $consumption } { $unit }.
    Всё верно?
submit-unusual =
    Расход получается { $consumption } { $unit } — намного больше обычного (в среднем около { $average } { $unit }).
    Всё верно?
submit-sure-yes = Да, верно
submit-sure-no = Нет, введу заново

submit-value-label = Показания
submit-consumption = расход { $consumption } { $unit } с { $date }
submit-consumption-none = предыдущих показаний нет
submit-confirm-line = { $label }: <b>{ $value }</b> ({ $spent })
submit-confirm-text =
    <b>Проверьте и подтвердите</b>
    { $title }
    { $lines }
    Период: { $period }
submit-correction-note = ⚠️ За этот период показания уже переданы — новые заменят их.
submit-confirm = ✅ Подтвердить
submit-change = ✏️ Изменить
submit-cancel = ✖️ Отменить
submit-press-button = Нажмите «Подтвердить», «Изменить» или «Отменить» под сообщением.

submit-receipt-line = { $label }: <b>{ $value }</b>
submit-receipt =
    ✅ <b>Показания приняты.</b> Расписка № <b>{ $receipt }</b>
    { $title }
    { $lines }
    Период: { $period }
    Принято: { $time }
submit-receipt-replaces = Эти показания заменяют переданные ранее за тот же период.
submit-already-saved = Эти показания уже сохранены, расписка № { $receipt }.
submit-window-closed = Приём показаний счётчика { $title } уже закрылся, показания не сохранены. Следующий приём — с { $opens } по { $closes }.
submit-not-allowed = Не удалось сохранить: этот счётчик больше не относится к вашим лицевым счетам. Откройте меню заново; если это ошибка — поддержка: { $support }.
submit-cancelled = Отменено: по этому счётчику ничего не сохранено. Уже выданные расписки действуют.

submit-summary = <b>Готово!</b> { $count ->
    [1] Переданы показания одного счётчика:
    [one] Переданы показания { $count } счётчика:
   *[other] Переданы показания { $count } счётчиков:
}
submit-summary-none = Показания не переданы.
submit-summary-line = { $title } — расписка № { $receipt }
submit-summary-skipped = Пропущены: { $titles }. Их можно передать позже, пока открыт приём.
submit-still-due = { $count ->
    [1] Ещё один счётчик ждёт показаний.
    [one] Ещё { $count } счётчик ждёт показаний.
    [few] Ещё { $count } счётчика ждут показаний.
   *[other] Ещё { $count } счётчиков ждут показаний.
}
submit-continue = Передать остальные ({ $count })
submit-start-again = Я потерял, на каком счётчике мы остановились. Нажмите «📝 Передать показания», чтобы начать заново; подтверждённые показания сохранены.
