accounts-title = <b>Ваши лицевые счета</b> (✅ — текущий):
accounts-none = К этому чату не привязан ни один лицевой счёт.
accounts-none-left = Привязанных счетов больше нет. Чтобы привязать счёт, отправьте /start.
accounts-add = ➕ Привязать ещё счёт
accounts-switch = Перейти на { $account }
accounts-unlink = Отвязать { $account }
accounts-unlink-confirm = Отвязать лицевой счёт <b>{ $account }</b> от этого чата? Уже переданные показания сохранятся.
accounts-unlink-yes = Да, отвязать
accounts-unlink-no = Нет, оставить
accounts-unlinked = Лицевой счёт отвязан.
accounts-unlink-kept = Хорошо, счёт остаётся привязанным.

forget-confirm =
    Удалить всё, что бот хранит об этом чате: привязки к счетам, настройки, коды и незавершённые действия?
    Уже переданные показания останутся у лицевого счёта, но без связи с этим чатом.
forget-yes = Да, удалить
forget-no = Отмена
forget-done = Данные этого чата удалены.
forget-bye = Готово, я всё забыл. Чтобы начать заново, отправьте /start.
forget-kept = Хорошо, ничего не удалено.

settings-title = <b>Настройки</b>. Нажмите, чтобы включить или выключить напоминание.
settings-remind-opening = { $on ->
    [true] 🔔
   *[false] 🔕
} Начало приёма показаний
settings-remind-closing = { $on ->
    [true] 🔔
   *[false] 🔕
} Скоро конец приёма
settings-remind-verification = { $on ->
    [true] 🔔
   *[false] 🔕
} Срок поверки
settings-language = 🌐 Switch to English
