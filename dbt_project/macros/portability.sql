{#
    The few engine-specific pieces, behind adapter.dispatch so the models stay portable
    SQL (a duckdb__ implementation plus a default__ for Trino-like engines, and spark__
    where it differs).
#}

{# Text value at a JSON path ('a.b' = $.a.b) of a JSON/varchar column; null when absent or JSON null. #}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'trainsmart')(column, path)) }}
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro spark__json_text(column, path) -%}
    get_json_object({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_scalar({{ column }}, '$.{{ path }}')
{%- endmacro %}


{#
    Many text values of one JSON column, the document parsed once: select
    json_texts(column, paths) as a column X in one CTE, then json_texts_get('X', paths, path)
    is json_text(column, path) in the next. DuckDB parses the whole document for every
    json_extract_string call, so 16 fields read one by one cost 16 parses (measured on a
    1,000-athlete club: 73 s against 11 s; scripts/bench_club_build.py); its list form
    parses once. Elsewhere X is the column itself and json_texts_get is json_text.
#}
{% macro json_texts(column, paths) -%}
    {{ return(adapter.dispatch('json_texts', 'trainsmart')(column, paths)) }}
{%- endmacro %}

{% macro default__json_texts(column, paths) -%}
    {{ column }}
{%- endmacro %}

{% macro duckdb__json_texts(column, paths) -%}
    json_extract_string({{ column }}, [{% for path in paths %}'$.{{ path }}'{% if not loop.last %}, {% endif %}{% endfor %}])
{%- endmacro %}

{% macro json_texts_get(parsed, paths, path) -%}
    {{ return(adapter.dispatch('json_texts_get', 'trainsmart')(parsed, paths, path)) }}
{%- endmacro %}

{% macro default__json_texts_get(parsed, paths, path) -%}
    {{ json_text(parsed, path) }}
{%- endmacro %}

{% macro duckdb__json_texts_get(parsed, paths, path) -%}
    {{ parsed }}[{{ paths.index(path) + 1 }}]
{%- endmacro %}


{# IEEE double precision type name (dbt.type_float() is 32-bit REAL in DuckDB). #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'trainsmart')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}


{# A double literal: keeps numeric constants out of DECIMAL arithmetic. #}
{% macro dbl(value) -%}
    cast({{ value }} as {{ type_double() }})
{%- endmacro %}


{#
    Strava ISO timestamp text ("2024-03-03T21:30:00Z", also for start_date_local, which is
    wall time despite the Z) -> timestamp of its first 19 characters, ignoring any zone
    suffix or fraction.
#}
{% macro iso_text_to_timestamp(expr) -%}
    cast(replace(substr({{ expr }}, 1, 19), 'T', ' ') as timestamp)
{%- endmacro %}


{#
    One row per (athlete, calendar day) between two date columns of `relation`, both
    inclusive: select <key>, <date_column> ... Used for the day spine.
#}
{% macro day_series(relation, key_column, start_column, end_column, date_column='date_day') -%}
    {{ return(adapter.dispatch('day_series', 'trainsmart')(relation, key_column, start_column, end_column, date_column)) }}
{%- endmacro %}

{% macro duckdb__day_series(relation, key_column, start_column, end_column, date_column) -%}
    select
        {{ key_column }},
        cast(unnest(generate_series(
            cast({{ start_column }} as timestamp),
            cast({{ end_column }} as timestamp),
            interval 1 day
        )) as date) as {{ date_column }}
    from {{ relation }}
    where {{ start_column }} <= {{ end_column }}
{%- endmacro %}

{% macro spark__day_series(relation, key_column, start_column, end_column, date_column) -%}
    select
        {{ key_column }},
        explode(sequence({{ start_column }}, {{ end_column }}, interval 1 day)) as {{ date_column }}
    from {{ relation }}
    where {{ start_column }} <= {{ end_column }}
{%- endmacro %}

{% macro default__day_series(relation, key_column, start_column, end_column, date_column) -%}
    select
        r.{{ key_column }},
        s.{{ date_column }}
    from {{ relation }} as r
    cross join unnest(sequence(r.{{ start_column }}, r.{{ end_column }}, interval '1' day)) as s ({{ date_column }})
    where r.{{ start_column }} <= r.{{ end_column }}
{%- endmacro %}


{# cast that yields null instead of failing on a value of the wrong shape (dbt.safe_cast is a plain cast in dbt-duckdb) #}
{% macro tolerant_cast(expr, type) -%}
    {{ return(adapter.dispatch('tolerant_cast', 'trainsmart')(expr, type)) }}
{%- endmacro %}

{% macro default__tolerant_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro postgres__tolerant_cast(expr, type) -%}
    cast({{ expr }} as {{ type }})
{%- endmacro %}


{#
    The texts of a group joined by a delimiter, in sorted order. dbt.listagg's order_by
    argument is ignored on Spark (with a warning), which would make a flag's message depend
    on the shuffle; Spark sorts the collected list instead.
#}
{% macro sorted_listagg(measure, delimiter_text) -%}
    {{ return(adapter.dispatch('sorted_listagg', 'trainsmart')(measure, delimiter_text)) }}
{%- endmacro %}

{% macro default__sorted_listagg(measure, delimiter_text) -%}
    {{ dbt.listagg(measure, delimiter_text, "order by " ~ measure) }}
{%- endmacro %}

{% macro spark__sorted_listagg(measure, delimiter_text) -%}
    array_join(array_sort(collect_list({{ measure }})), {{ delimiter_text }})
{%- endmacro %}
