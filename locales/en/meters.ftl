# Meters: names, zones and the "My meters" list

meters-resource = { $resource ->
    [cold_water] 💧 Cold water
    [hot_water] ♨️ Hot water
    [electricity] ⚡ Electricity
    [gas] 🔥 Gas
   *[heat] 🌡 Heat
}
meters-unit = { $resource ->
    [electricity] kWh
    [heat] Gcal
   *[other] m³
}
# Moscow-region standard hours of the tariff zones
meters-zone = { $tariffs ->
    [2] { $zone ->
        [1] T1 day (07:00–23:00)
       *[2] T2 night (23:00–07:00)
    }
   *[3] { $zone ->
        [1] T1 peak (07:00–10:00 and 17:00–21:00)
        [2] T2 night (23:00–07:00)
       *[3] T3 semi-peak (10:00–17:00 and 21:00–23:00)
    }
}
meters-title = { $resource } ···{ $tail }
meters-last = { $values } on { $date }
meters-last-none = no readings yet

meters-list-title = <b>Meters of account { $account }</b>
meters-item =
    <b>{ $resource }</b>, No. { $serial }
    { $zones }
    Last reading: { $last }
    { $verification }
    { $days }
    { $state }
meters-zones-one = Single tariff
meters-zones-many = Tariff zones: { $count } — { $names }
meters-verification = Verified until { $date }
meters-verification-expired = ⚠️ Verification expired on { $date }: order a verification or a replacement and tell support.
meters-verification-unknown = Verification date: unknown
meters-window-days = Readings accepted: from day { $start } to day { $end }{ $next ->
    [yes] {" "}of the next month
   *[no] {""}
}
meters-window-open = Open now, until { $closes } (for { $period })
meters-window-open-done = Reading for { $period } submitted; you can correct it until { $closes }
meters-window-closed = Next window: from { $opens } to { $closes }
