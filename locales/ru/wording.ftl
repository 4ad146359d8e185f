# Wording (issue 9, points 22-24): day numbers of the window, leaving a walk, the ceiling question

# "с 15-го по 3-е число следующего месяца": the first day in the genitive, the last in the accusative
window-day-from = { $day }-го
window-day-until = { $day }-е
window-days = с { $start } по { $end } число{ $next ->
    [yes] {" "}следующего месяца
   *[no] {""}
}

# A walk left half-done: what was confirmed stays, and the resident is told which
cancelled-kept = Действие отменено: незаконченное не сохранено.
submit-left = Передача показаний прервана: незаконченное не сохранено.
submit-kept = { $count ->
    [1] Показания, которые вы уже подтвердили, сохранены:
   *[other] Показания, которые вы уже подтвердили, сохранены ({ $count }):
}

# A meter with no consumption history yet, above the resource's ceiling for the months since
submit-above-ceiling =
    Расход получается { $consumption } { $unit } — больше, чем обычно расходует квартира за { $months ->
        [one] { $months } месяц
        [few] { $months } месяца
       *[other] { $months } месяцев
    } (до { $ceiling } { $unit }).
    Всё верно?

# The button of a meter with several zones: its values are in the overview above it
submit-pick-button-zones = { $mark }{ $resource } ···{ $tail }
