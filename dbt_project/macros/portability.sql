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
