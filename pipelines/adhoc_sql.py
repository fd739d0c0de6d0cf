"""`trainsmart sql`: ad hoc SQL over the training database, safe while a sync is writing.

Readers never open the live database (a writer may hold DuckDB's lock); they open the
snapshot that every writer publishes when it is done (`warehouse.publish_snapshot`,
`Settings.snapshot_path`), read-only. Each statement opens the newest snapshot, so a
shell left open sees the data of the last finished sync, import or build.

    run_query(settings, "select * from weekly_training_summary")   # one-shot, returns 0 / 1
    interactive_shell(settings)                                      # REPL, or stdin when piped
"""

from __future__ import annotations

import datetime as dt
import decimal
import sys
from typing import Any, Iterable, TextIO

import duckdb

from pipelines.config import Settings
from pipelines.warehouse import connect_reader

MAX_ROWS = 1000  # rows printed per result
MAX_CELL_WIDTH = 48  # characters per value before it is cut with "..."
PROMPT = "trainsmart> "
CONTINUATION_PROMPT = "       ...> "

NO_SNAPSHOT_MESSAGE = (
    "error: there is no training data to query yet; run `trainsmart sync`, "
    "`trainsmart import-export PATH` or `trainsmart build` first."
)

HELP_TEXT = """\
Enter SQL ending with ';' (DuckDB dialect). Tables: activities, daily_training_load,
weekly_training_summary, training_flags (schema main); raw.* as landed.
  .tables   list the tables and views
  .help     this text
  .quit     leave (Ctrl-D works too)"""


class NoSnapshot(Exception):
    """No writer has published a snapshot yet."""


# --------------------------------------------------------------------------- formatting


def format_value(value: Any) -> str:
    """One cell as text: NULL for missing values, compact floats, one line, capped width."""
    if value is None:
        text = "NULL"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = _format_float(value)
    elif isinstance(value, decimal.Decimal):
        text = format(value, "f")
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, (bytes, bytearray)):
        text = "0x" + bytes(value).hex()
    else:
        text = str(value)
    text = " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text
    if len(text) > MAX_CELL_WIDTH:
        text = text[: MAX_CELL_WIDTH - 3] + "..."
    return text


def _format_float(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e9 or abs(value) < 1e-3:
        return f"{value:.6g}"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def print_table(columns: list[str], rows: list[tuple], total_rows: int, out: TextIO) -> None:
    """An aligned text table: header, rule, rows (numbers right-aligned), a row count."""
    cells = [[format_value(v) for v in row] for row in rows]
    headers = [format_value(c) if c is not None else "" for c in columns]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    numeric = [bool(rows) and all(_is_number(r[i]) or r[i] is None for r in rows) for i in range(len(columns))]

    def line(values: Iterable[str], align_numbers: bool) -> str:
        parts = []
        for i, v in enumerate(values):
            parts.append(v.rjust(widths[i]) if align_numbers and numeric[i] else v.ljust(widths[i]))
        return " | ".join(parts).rstrip()

    out.write(line(headers, False) + "\n")
    out.write("-+-".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row, True) + "\n")
    if total_rows > len(rows):
        out.write(f"({total_rows} rows, first {len(rows)} shown)\n")
    else:
        out.write(f"({total_rows} row{'' if total_rows == 1 else 's'})\n")


# --------------------------------------------------------------------------- running


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return "error: " + text.splitlines()[0].strip()


def open_snapshot(settings: Settings) -> duckdb.DuckDBPyConnection:
    path = settings.snapshot_path
    if not path.exists():
        raise NoSnapshot(str(path))
    return connect_reader(path)


def _statements(query: str) -> list[str]:
    """Split into statements with DuckDB's own parser (semicolons in strings are fine)."""
    try:
        return [str(s.query) for s in duckdb.extract_statements(query)]
    except duckdb.Error:
        return [query]  # let execution report the parse error


def _run_on(con: duckdb.DuckDBPyConnection, query: str, out: TextIO) -> None:
    statements = _statements(query)
    for n, statement in enumerate(statements):
        cur = con.execute(statement)
        if n:
            out.write("\n")
        if cur.description is None:
            out.write("OK\n")
            continue
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(MAX_ROWS)
        total = len(rows)
        if total == MAX_ROWS:
            while True:
                more = cur.fetchmany(10_000)
                if not more:
                    break
                total += len(more)
        print_table(columns, rows, total, out)


def run_query(settings: Settings, query: str, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run SQL against the latest snapshot and print the result; 0 on success, 1 on an error."""
    out = out or sys.stdout
    err = err or sys.stderr
    if not query or not query.strip().strip(";").strip():
        err.write("error: no SQL given; try: trainsmart sql \"select * from weekly_training_summary\"\n")
        return 1
    try:
        con = open_snapshot(settings)
    except NoSnapshot:
        err.write(NO_SNAPSHOT_MESSAGE + "\n")
        return 1
    except duckdb.Error as exc:
        err.write(_error_line(exc) + "\n")
        return 1
    try:
        _run_on(con, query, out)
    except duckdb.Error as exc:
        out.flush()
        err.write(_error_line(exc) + "\n")
        return 1
    finally:
        con.close()
    return 0


def list_tables(settings: Settings, out: TextIO | None = None, err: TextIO | None = None) -> int:
    return run_query(
        settings,
        """
        select table_schema as schema, table_name as name, lower(table_type) as type
        from information_schema.tables
        order by case table_schema when 'main' then 0 when 'raw' then 2 else 1 end, table_schema, table_name
        """,
        out,
        err,
    )


# --------------------------------------------------------------------------- the shell


def interactive_shell(
    settings: Settings,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """A small SQL shell. Piped input (not a TTY) is run as one script instead."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    err = err or sys.stderr
    interactive = bool(getattr(stdin, "isatty", lambda: False)())
    if not interactive:
        return run_query(settings, stdin.read(), out, err)

    if not settings.snapshot_path.exists():
        err.write(NO_SNAPSHOT_MESSAGE + "\n")
        return 1
    try:
        import readline  # noqa: F401  (line editing and history where available)
    except ImportError:  # pragma: no cover
        pass
    out.write(f"trainsmart SQL on {settings.snapshot_path} (read-only). .help for help, .quit to leave.\n")
    buffer: list[str] = []
    while True:
        try:
            out.flush()
            line = _read_line(stdin, out, CONTINUATION_PROMPT if buffer else PROMPT)
        except KeyboardInterrupt:
            out.write("\n")
            buffer.clear()
            continue
        if line is None:  # Ctrl-D
            out.write("\n")
            return 0
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            command = stripped.split()[0].lower()
            if command in (".quit", ".exit", ".q"):
                return 0
            if command == ".tables":
                list_tables(settings, out, err)
            elif command == ".help":
                out.write(HELP_TEXT + "\n")
            else:
                err.write(f"error: unknown command {command}; try .help\n")
            continue
        if not stripped and not buffer:
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            query = "\n".join(buffer)
            buffer.clear()
            try:
                run_query(settings, query, out, err)
            except KeyboardInterrupt:
                err.write("error: interrupted\n")


def _read_line(stdin: TextIO, out: TextIO, prompt: str) -> str | None:
    if stdin is sys.stdin and out is sys.stdout:
        try:
            return input(prompt)
        except EOFError:
            return None
    out.write(prompt)
    out.flush()
    line = stdin.readline()
    if not line:
        return None
    return line.rstrip("\n")
