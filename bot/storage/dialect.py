"""The few SQL fragments that SQLite and PostgreSQL spell differently.

Lists travel as one JSON text parameter on both engines (one parameter, however many chats),
so a query's parameters are the same whichever engine runs it; only these fragments differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Engine = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class Dialect:
    name: Engine

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def json_ints(self, param: str) -> str:
        """A subquery of the integers in the JSON array `:param` (for `x IN (…)`)."""
        if self.postgres:
            return f"SELECT CAST(jsonb_array_elements_text(CAST(:{param} AS jsonb)) AS BIGINT)"
        return f"SELECT value FROM json_each(:{param})"

    def among_ints(self, column: str, param: str) -> str:
        """`column` is one of the integers in the JSON array `:param`. PostgreSQL gets the
        array made once (`= ANY(ARRAY(…))`), so the index on `column` drives the query: as
        `IN (subquery)` it could join every row of the tables against the array instead
        (9 s for a batch of 1,000 among 20,000 chats, against 8 ms)."""
        if self.postgres:
            return f"{column} = ANY(ARRAY({self.json_ints(param)}))"
        return f"{column} IN ({self.json_ints(param)})"

    def json_texts(self, param: str) -> str:
        """A subquery of the strings in the JSON array `:param`."""
        if self.postgres:
            return f"SELECT jsonb_array_elements_text(CAST(:{param} AS jsonb))"
        return f"SELECT value FROM json_each(:{param})"

    def json_rows(self, param: str, *columns: tuple[str, str]) -> str:
        """A subquery of the rows in the JSON array of arrays `:param`, as (name, type)
        columns: `json_rows("changes", ("chat_id", "BIGINT"), ("change", "TEXT"))`."""
        if self.postgres:
            cells = ", ".join(
                f"CAST(value->>{n} AS {kind}) AS {name}" for n, (name, kind) in enumerate(columns)
            )
            return f"SELECT {cells} FROM jsonb_array_elements(CAST(:{param} AS jsonb))"
        cells = ", ".join(
            f"json_extract(value, '$[{n}]') AS {name}" for n, (name, _) in enumerate(columns)
        )
        return f"SELECT {cells} FROM json_each(:{param})"

    def unindexed(self, column: str) -> str:
        """`column`, telling SQLite's planner not to use an index on it (`+column`); the
        same column on PostgreSQL, whose planner needs no such hint."""
        return column if self.postgres else f"+{column}"

    def bytewise(self, column: str) -> str:
        """`column` compared byte by byte (code point order), as SQLite compares text; on
        PostgreSQL whatever collation the database was created with (`en_US.UTF-8` would put
        "A-2" after "A1")."""
        return f'{column} COLLATE "C"' if self.postgres else column

    def json_object(self, *pairs: str) -> str:
        """`json_object('key', value, …)` as text."""
        if self.postgres:
            return f"CAST(json_build_object({', '.join(pairs)}) AS TEXT)"
        return f"json_object({', '.join(pairs)})"


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect("postgresql")
