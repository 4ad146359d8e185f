# Appeals (SPEC §11): the resident's side
menu-appeal = ✉️ Написать нам
cmd-appeal = Написать в расчётный центр
cmd-appeals = Мои обращения

appeal-topic = { $topic ->
    [meter] Счётчик сломался или заменён
    [previous] Неверные предыдущие показания
    [verification] Поверка счётчика
    [bill] Вопрос по квитанции
   *[other] Другое
}

appeal-off = Обращения через бота сейчас не принимаются. Свяжитесь с поддержкой: { $support }
appeal-too-many = У вас уже { $count } { $count ->
    [one] открытое обращение
    [few] открытых обращения
   *[other] открытых обращений
} — это максимум. Дождитесь ответа или допишите в открытое обращение: просто отправьте сообщение в этот чат.
appeal-ask-topic =
    <b>Написать в расчётный центр</b>
    Выберите тему обращения. Ответ придёт сюда же, в этот чат, обычно в течение { $hours } ч.
appeal-ask-text = Тема: <b>{ $topic }</b>. Опишите вопрос одним сообщением (до 4000 символов). Фото и документы можно будет приложить следующим шагом.
appeal-pick-topic = Выберите тему кнопкой под сообщением выше — или /cancel, чтобы не писать.
appeal-start-again = Черновик обращения потерялся. Начните заново: /appeal
appeal-too-long = Слишком длинный текст: { $length } символов, а можно до { $limit }. Сократите, пожалуйста, и отправьте ещё раз.
appeal-ask-attachments = Приложите фото или документы (до { $limit }), если нужно, — например, фото счётчика. Когда всё готово, нажмите «Посмотреть и отправить».
appeal-text-added = Добавил к тексту обращения. Можно приложить фото или документы или нажать «Посмотреть и отправить».
appeal-attachments-full = К обращению можно приложить не больше { $limit } файлов. Этот файл не добавлен.
appeal-attached-ask-text = Файл приложен ({ $count }). Теперь опишите вопрос текстом.
appeal-attached = Приложено файлов: { $count } из { $limit }. Можно добавить ещё или нажать «Посмотреть и отправить».
appeal-unsupported = Пришлите, пожалуйста, текст, фото или документ — стикеры, голосовые и видеосообщения обращение не принимает.
appeal-preview =
    <b>Проверьте обращение</b>
    Тема: { $topic }
    Файлов: { $count }

    { $text }
appeal-preview-button = 👀 Посмотреть и отправить
appeal-send-button = ✅ Отправить
appeal-cancel-button = ✖️ Отменить
appeal-cancelled = Обращение не отправлено, черновик удалён.
appeal-sent = Обращение <b>{ $number }</b> отправлено. Ответ придёт в этот чат, обычно в течение { $hours } ч. Чтобы дополнить обращение, просто напишите сюда.
appeal-waiting = Обращение <b>{ $number }</b> сохранено, но расчётный центр сейчас не может его принять. Мы передадим его, как только это станет возможно, — ничего не потеряется. Если вопрос срочный: { $support }
appeal-follow-up = Добавлено к обращению { $number }.
appeal-follow-up-waiting = Сохранено в обращении { $number }; передадим его, как только расчётный центр сможет принять.
appeal-list-none = У вас пока нет обращений. Написать в расчётный центр: /appeal
appeal-list-title = <b>Ваши обращения</b>
appeal-list-item = { $number } · { $topic } · { $date } — { $status ->
    [open] { $answered ->
        [yes] открыто, есть ответ
       *[no] открыто, ждёт ответа
    }
   *[closed] закрыто{ $rating ->
        [0] {""}
       *[other] , ваша оценка { $rating }/5
    }
}
appeal-from-centre = 🏢 <b>Расчётный центр</b> · обращение { $number }
appeal-edited = 🏢 <b>Расчётный центр</b> исправил сообщение по обращению { $number }:

    { $text }
appeal-closed = Обращение <b>{ $number }</b> закрыто. Оцените, пожалуйста, ответ — от 1 до 5:
appeal-rated = Спасибо! Ваша оценка по обращению { $number }: { $rating }/5.

# Appeals: the operators' forum chat (in DEFAULT_LOCALE)
appeal-topic-name = { $number } · { $topic } · { $account }
appeal-topic-resident = 👤 <b>{ $name }</b>:
    { $text }
appeal-card-title = <b>Обращение { $number }</b> · { $topic }
appeal-card-name = Житель: { $name }
appeal-card-no-account = Лицевой счёт не привязан.
appeal-card-account =
    Лицевой счёт: <b>{ $account }</b>
    Адрес: { $address }
appeal-card-meters = Счётчики:
appeal-card-meter = • { $resource } { $serial }: { $last }; { $state }
appeal-card-period = { $done ->
    [true] за { $period } переданы
   *[false] за { $period } не переданы
}
appeal-card-window-closed = окно закрыто, откроется { $opens }
appeal-note-blocked = ⚠️ Житель заблокировал бота: ответ по обращению { $number } не доставлен.
appeal-note-undelivered = ⚠️ Ответ по обращению { $number } не удалось доставить жителю.
appeal-note-forgotten = ℹ️ Житель удалил свои данные из бота (/forget): обращение { $number } закрыто, ответить ему здесь больше нельзя.
appeal-note-closed = ✅ Обращение { $number } закрыто, житель уведомлён.
appeal-note-closed-blocked = ✅ Обращение { $number } закрыто. ⚠️ Житель заблокировал бота: он об этом не узнал.
appeal-note-closed-untold = ✅ Обращение { $number } закрыто. ⚠️ Сообщить об этом жителю не удалось.
appeal-note-already-closed = ⚠️ Обращение { $number } уже закрыто: это сообщение жителю не отправлено.
appeal-note-not-copied = ⚠️ Это сообщение жителю не передано: бот передаёт текст, фото, документы, видео, аудио, голосовые и стикеры.
appeal-note-rated = ⭐ Житель оценил ответ по обращению { $number }: { $rating }/5.
appeal-note-attachment-gone = ℹ️ Житель удалил один из файлов обращения { $number } до того, как его удалось передать.
appeal-overdue = ⏰ Обращение <a href="{ $link }">{ $number }</a> ({ $topic }) ждёт ответа уже { $hours } ч.
appeal-admin-desk-away = ⚠️ Обращения жителей не доходят до чата операторов (OPERATOR_CHAT_ID): { $reason }. Проверьте, что чат существует, это форум и бот в нём администратор с правом управлять темами. Обращения сохранены и будут переданы, когда чат заработает.
appeal-desk-not-a-topic = Эта команда работает в теме открытого обращения.
appeal-desk-none-open = Открытых обращений нет.
appeal-desk-list-title = <b>Открытые обращения: { $count }</b> (сначала старые)
appeal-desk-list-item = { $number } · { $topic } · с { $date } — { $waiting ->
    [yes] ждёт ответа { $hours } ч
   *[no] отвечено
}{ $delivered ->
    [no] , ещё не передано в чат
   *[yes] {""}
}
