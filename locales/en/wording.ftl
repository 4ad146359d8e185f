# Wording (issue 9, points 22-24): day numbers of the window, leaving a walk, the ceiling question

# Ordinal day numbers: "from the 15th to the 3rd of the next month"
window-day-from = { $day ->
    [1] 1st
    [2] 2nd
    [3] 3rd
    [21] 21st
    [22] 22nd
    [23] 23rd
    [31] 31st
   *[other] { $day }th
}
window-day-until = { window-day-from }
window-days = from the { $start } to the { $end }{ $next ->
    [yes] {" "}of the next month
   *[no] {" "}of the month
}

# A walk left half-done: what was confirmed stays, and the resident is told which
cancelled-kept = Cancelled: nothing half-done was saved.
submit-left = You left the submission: nothing half-done was saved.
submit-kept = { $count ->
    [one] The reading you already confirmed is saved:
   *[other] The readings you already confirmed are saved ({ $count }):
}

# A meter with no consumption history yet, above the resource's ceiling for the months since
submit-above-ceiling =
    That makes a consumption of { $consumption } { $unit } — more than a flat usually uses in { $months ->
        [one] a month
       *[other] { $months } months
    } (up to { $ceiling } { $unit }).
    Is that right?

# The button of a meter with several zones: its values are in the overview above it
submit-pick-button-zones = { $mark }{ $resource } ···{ $tail }
