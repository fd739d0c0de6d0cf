"""The dbt project stays portable: no DuckDB-only SQL outside an adapter.dispatch implementation.

The same models run on DuckDB and on Spark (dbt_project/profiles.yml, target `spark`;
docs/scale-out.md). Engine-specific SQL lives only in dispatched macros named
`<adapter>__<macro>` (duckdb__, spark__, default__, ...), whose callers go through
`adapter.dispatch`. This test reads every .sql file of the project (models, macros, data
tests) and the SQL fixtures of the unit tests with comments, string literals and Jinja
removed, skips the bodies of those dispatched implementations, and fails on each
DuckDB-only idiom it finds, as file:line; it also checks the seeds' column types.

The idioms are those measured on Spark 4.3 and DuckDB 2.0 (issue 11). Not listed, because
both engines take them: `::` casts, `try_cast`, `date_trunc`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
SCANNED = ("models", "macros", "tests")

# Type names Spark rejects (varchar needs a length there; `string` is varchar in DuckDB too).
DUCKDB_TYPES = "json|varchar|hugeint|uhugeint|ubigint|uinteger|usmallint|utinyint"
DUCKDB_TYPE_NAMES = set(DUCKDB_TYPES.split("|"))

# idiom -> (pattern on SQL without comments, strings or Jinja, what to use instead)
IDIOMS: dict[str, tuple[re.Pattern, str]] = {
    "generate_series": (re.compile(r"\bgenerate_series\s*\(", re.I), "the day_series macro (explode(sequence()) on Spark)"),
    "QUALIFY": (re.compile(r"\bqualify\b", re.I), "a subquery filtering on the window column"),
    "* EXCLUDE": (re.compile(r"\bexclude\s*\(", re.I), "an explicit column list"),
    "->>": (re.compile(r"->>"), "the json_text macro"),
    "-> (JSON path or lambda)": (re.compile(r"->(?!>)"), "the json_text macro, or a dispatched macro for lambdas"),
    "epoch(": (re.compile(r"\bepoch(_ms|_us|_ns)?\s*\(", re.I), "dbt.datediff from 1970-01-01"),
    "strftime(": (re.compile(r"\bstrftime\s*\(", re.I), "cast to a string, or a dispatched macro"),
    "strptime(": (re.compile(r"\bstrptime\s*\(", re.I), "a cast, or a dispatched macro"),
    "list(": (re.compile(r"\blist\s*\(", re.I), "a dispatched macro (collect_list on Spark)"),
    "list_*(": (re.compile(r"\blist_\w+\s*\(", re.I), "a dispatched macro"),
    "struct_pack(": (re.compile(r"\bstruct_pack\s*\(", re.I), "a dispatched macro"),
    "unnest(": (re.compile(r"\bunnest\s*\(", re.I), "a dispatched macro (explode on Spark)"),
    "json_extract*(": (re.compile(r"\bjson_extract\w*\s*\(", re.I), "the json_text macro"),
    "date_diff(": (re.compile(r"\bdate_?diff\s*\(", re.I), "dbt.datediff"),
    "[..] list literal or index": (re.compile(r"\["), "a dispatched macro (indexes are 1-based in DuckDB, 0-based in Spark)"),
    "DuckDB-only type": (re.compile(rf"\bas\s+(?:{DUCKDB_TYPES})\s*\)|::\s*(?:{DUCKDB_TYPES})\b(?!\s*\()", re.I),
                         "string (both engines), dbt.type_string(), type_double() or a dispatched macro"),
    "{..} struct literal": (re.compile(r"\{"), "a dispatched macro"),
}

# Dispatched implementations: engine-specific SQL belongs here.
DISPATCHED = re.compile(r"^(default|duckdb|spark|databricks|postgres|trino|snowflake|bigquery|redshift)__\w+$")


def _blank(match: re.Match) -> str:
    """The match replaced by spaces, newlines kept (line numbers stay right)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _without_dispatched_macros(text: str) -> str:
    def drop(match: re.Match) -> str:
        return _blank(match) if DISPATCHED.match(match.group(1)) else match.group(0)

    return re.sub(r"\{%-?\s*macro\s+(\w+)\s*\(.*?\{%-?\s*endmacro\s*-?%\}", drop, text, flags=re.S)


def sql_only(text: str) -> str:
    """Jinja comments, dispatched macro bodies, Jinja, SQL comments and string literals blanked out."""
    text = re.sub(r"\{#.*?#\}", _blank, text, flags=re.S)
    text = _without_dispatched_macros(text)
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", _blank, text, flags=re.S)
    text = re.sub(r"/\*.*?\*/", _blank, text, flags=re.S)
    text = re.sub(r"'(?:[^']|'')*'", _blank, text)  # before -- comments: '--' may sit in a string
    text = re.sub(r"--[^\n]*", _blank, text)
    return text


def find_idioms(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(sql_only(text).splitlines(), 1):
        for idiom, (pattern, _) in IDIOMS.items():
            if pattern.search(line):
                found.append((number, idiom))
    return found


def _project_sql() -> list[Path]:
    return sorted(p for folder in SCANNED for p in (DBT_PROJECT / folder).rglob("*.sql"))


def _yaml_sql(path: Path) -> list[tuple[str, str]]:
    """(where, SQL) of the unit tests' `format: sql` fixtures in one model YAML."""
    doc = yaml.safe_load(path.read_text()) or {}
    found = []
    for test in doc.get("unit_tests") or []:
        fixtures = [(f"given {g.get('input')}", g) for g in test.get("given") or []] + [("expect", test.get("expect") or {})]
        for where, fixture in fixtures:
            if fixture.get("format") == "sql" and isinstance(fixture.get("rows"), str):
                found.append((f"unit test {test['name']}, {where}", fixture["rows"]))
    return found


def _seed_types(config, where: str = "seeds") -> list[tuple[str, str]]:
    """(where, type) of every seed column_types entry in dbt_project.yml."""
    found = []
    for key, value in (config or {}).items():
        if key.lstrip("+") == "column_types" and isinstance(value, dict):
            found += [(f"{where}.{column}", str(type_name)) for column, type_name in value.items()]
        elif isinstance(value, dict):
            found += _seed_types(value, f"{where}.{key}")
    return found


def offenders() -> list[str]:
    out = [f"dbt_project/{path.relative_to(DBT_PROJECT).as_posix()}:{number}: {idiom} (use {IDIOMS[idiom][1]})"
           for path in _project_sql() for number, idiom in find_idioms(path.read_text())]
    for path in sorted((DBT_PROJECT / "models").rglob("*.yml")):
        for where, sql in _yaml_sql(path):
            out += [f"dbt_project/{path.relative_to(DBT_PROJECT).as_posix()}: {where}: {idiom} (use {IDIOMS[idiom][1]})"
                    for _, idiom in find_idioms(sql)]
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
    out += [f"dbt_project/dbt_project.yml: {where}: DuckDB-only type {type_name} (use string)"
            for where, type_name in _seed_types(project.get("seeds")) if type_name.lower() in DUCKDB_TYPE_NAMES]
    return out


def test_no_duckdb_only_sql_outside_dispatched_macros():
    assert len(_project_sql()) > 20  # the models, macros and data tests are really there
    found = offenders()
    assert not found, "DuckDB-only SQL outside an adapter.dispatch macro:\n" + "\n".join(found)


def test_the_scan_finds_each_idiom_and_skips_dispatched_code():
    sql = """
    {# generate_series( in a Jinja comment is fine #}
    -- so is qualify in a SQL comment, and 'json ->> text' in a string
    {% macro duckdb__x(a) %} list_value(1, 2) {% endmacro %}
    {% macro spark__x(a) %} transform(a, v -> v + 1) {% endmacro %}
    {% macro shared(a) %} {{ a }}[1] {% endmacro %}
    select {{ trainsmart.json_text('json', 'a.b') }}, cast(x as string) as json, cast(x as date)::varchar from t
    select * exclude (a) from t qualify row_number() over () = 1
    select json ->> 'a', epoch(ts), strftime(ts, '%Y'), [1, 2], {'a': 1}, list(x), unnest(y)
    select transform(xs, x -> x + 1), generate_series(1, 3)
    """
    found = find_idioms(sql)
    assert found == [
        (6, "[..] list literal or index"),
        (7, "DuckDB-only type"),
        (8, "QUALIFY"), (8, "* EXCLUDE"),
        (9, "->>"), (9, "epoch("), (9, "strftime("), (9, "list("), (9, "unnest("),
        (9, "[..] list literal or index"), (9, "{..} struct literal"),
        (10, "generate_series"), (10, "-> (JSON path or lambda)"),
    ], found
