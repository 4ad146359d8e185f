# Meters: names, zones and the "My meters" list

meters-resource = { $resource ->
    [cold_water] 💧 Холодная вода
    [hot_water] ♨️ Горячая вода
    [electricity] ⚡ Электроэнергия
    [gas] 🔥 Газ
   *[heat] 🌡 Отопление
}
meters-unit = { $resource ->
    [electricity] кВт·ч
    [heat] Гкал
   *[other] м³
}
# Moscow-region standard hours of the tariff zones
meters-zone = { $tariffs ->
    [2] { $zone ->
        [1] T1 день (07:00–23:00)
       *[2] T2 ночь (23:00–07:00)
    }
   *[3] { $zone ->
        [1] T1 пик (07:00–10:00 и 17:00–21:00)
        [2] T2 ночь (23:00–07:00)
       *[3] T3 полупик (10:00–17:00 и 21:00–23:00)
    }
}
meters-title = { $resource } ···{ $tail }
meters-last = { $values } от { $date }
meters-last-none = показаний пока нет

meters-list-title = <b>Счётчики по лицевому счёту { $account }</b>
meters-item =
    <b>{ $resource }</b>, № { $serial }
    { $zones }
    Последние показания: { $last }
    { $verification }
    { $days }
    { $state }
meters-zones-one = Однотарифный
meters-zones-many = Тарифных зон: { $count } — { $names }
meters-verification = Поверка действует до { $date }
meters-verification-expired = ⚠️ Срок поверки истёк { $date }: закажите поверку или замену и сообщите в поддержку.
meters-verification-unknown = Срок поверки: нет данных
meters-window-days = Приём показаний: с { $start }-го по { $end }-е число{ $next ->
    [yes] {" "}следующего месяца
   *[no] {""}
}
meters-window-open = Сейчас приём открыт, до { $closes } (за { $period })
meters-window-open-done = Показания за { $period } переданы; исправить можно до { $closes }
meters-window-closed = Следующий приём — с { $opens } по { $closes }
