"""Write a realistic import file (SPEC §4) of N accounts, about 2.5 meters each.

    python bench/gen_accounts.py --accounts 100000 --out /tmp/accounts.csv

Deterministic for a given --seed: the same arguments always write the same bytes. Accounts are
grouped, one row per meter, as billing systems export them; phones come in the usual mixed
forms; most meters carry a last reading from October or November 2026.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

from bot.services.importer import COLUMNS

HEADER = COLUMNS  # the import format of SPEC §4, in its order
ELS_LETTERS = ("АБ", "ВГ", "МО", "ЕК", "НР")
TOWNS = (
    "Балашиха",
    "Подольск",
    "Химки",
    "Мытищи",
    "Королёв",
    "Люберцы",
    "Красногорск",
    "Одинцово",
    "Электросталь",
    "Коломна",
    "Домодедово",
    "Реутов",
    "Серпухов",
    "Щёлково",
    "Долгопрудный",
    "Раменское",
    "Жуковский",
    "Пушкино",
    "Сергиев Посад",
    "Ногинск",
)
STREETS = (
    "ул. Ленина",
    "ул. Советская",
    "ул. Московская",
    "ул. Гагарина",
    "ул. Мира",
    "ул. Победы",
    "ул. Садовая",
    "ул. Школьная",
    "ул. Октябрьская",
    "ул. Парковая",
    "Октябрьский пр-т",
    "Комсомольский пр-т",
    "ул. Маршала Жукова",
    "ул. Молодёжная",
    "ш. Энтузиастов",
)
MOBILE_CODES = (
    "903",
    "905",
    "906",
    "909",
    "915",
    "916",
    "917",
    "925",
    "926",
    "929",
    "965",
    "967",
    "968",
    "977",
    "985",
    "999",
)
LAST_DAYS = [date(2026, 10, 15) + timedelta(days=d) for d in range(36)]  # Oct 15 .. Nov 19


def phone(rng: random.Random) -> str:
    code, rest = rng.choice(MOBILE_CODES), f"{rng.randrange(10_000_000):07d}"
    a, b, c = rest[:3], rest[3:5], rest[5:]
    form = rng.randrange(6)
    if form == 0:
        return f"+7 {code} {a}-{b}-{c}"
    if form == 1:
        return f"8{code}{rest}"
    if form == 2:
        return f"8 ({code}) {a}-{b}-{c}"
    if form == 3:
        return f"+7{code}{rest}"
    if form == 4:
        return f"{code}{rest}"
    return f"8-{code}-{a}-{b}-{c}"


def meters(rng: random.Random) -> list[tuple[str, int, int | None]]:
    """(resource, tariffs, digits) of one apartment's meters; 2.5 on average."""
    found: list[tuple[str, int, int | None]] = [("cold_water", 1, 5)]
    if rng.random() < 0.25:
        found.append(("cold_water", 1, 5))  # a second riser: kitchen and bathroom
    if rng.random() < 0.6:
        found.append(("hot_water", 1, 5))
        if rng.random() < 0.2:
            found.append(("hot_water", 1, 5))
    if rng.random() < 0.35:
        found.append(("electricity", rng.choices((1, 2, 3), (5, 4, 1))[0], 6))
    if rng.random() < 0.12:
        found.append(("gas", 1, 5))
    if rng.random() < 0.06:
        found.append(("heat", 1, None))
    return found


def write(out: Path, accounts: int, seed: int, separator: str) -> int:
    rng = random.Random(seed)
    written = 0
    with out.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=separator, lineterminator="\n")
        writer.writerow(HEADER)
        for index in range(accounts):
            number = f"50{index:08d}"
            house = rng.randrange(1, 200)
            address = f"г. {rng.choice(TOWNS)}, {rng.choice(STREETS)}, д. {house}"
            if rng.random() < 0.9:
                address += f", кв. {rng.randrange(1, 300)}"
            tel = phone(rng)
            # ГИС ЖКХ's identifiers (SPEC §4), derived from the index: the other cells keep
            # the values earlier versions of this file wrote
            els = f"{10 + index % 90}{ELS_LETTERS[index % len(ELS_LETTERS)]}{index % 10**6:06d}"
            has_last = rng.random() < 0.85
            last_day = rng.choice(LAST_DAYS).isoformat()
            serials: set[str] = set()
            for resource, tariffs, digits in meters(rng):
                serial = f"{rng.randrange(10, 27)}-{rng.randrange(1_000_000):06d}"
                while serial in serials:  # unique within the account, as the import requires
                    serial = f"{rng.randrange(10, 27)}-{rng.randrange(1_000_000):06d}"
                serials.add(serial)
                last: list[str] = ["", "", ""]
                if has_last:
                    for zone in range(tariffs):
                        last[zone] = str(rng.randrange(20_000 if digits is None else 10**4))
                verified = date(2027, 1, 1) + timedelta(days=rng.randrange(8 * 365))
                own_window = ("20", "25") if rng.random() < 0.02 else ("", "")
                writer.writerow(
                    (
                        number,
                        tel,
                        address,
                        serial,
                        resource,
                        tariffs,
                        "" if digits is None else digits,
                        *last,
                        last_day if has_last else "",
                        verified.isoformat(),
                        *own_window,
                        f"{index:08d}{len(serials):02d}",  # gis_meter_number
                        els,
                        "",  # replaces
                    )
                )
                written += 1
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, required=True, help="how many accounts")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--separator", choices=(";", ","), default=";")
    args = parser.parse_args(argv)
    meters_written = write(args.out, args.accounts, args.seed, args.separator)
    print(
        f"{args.out}: {args.accounts} accounts, {meters_written} meters",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
