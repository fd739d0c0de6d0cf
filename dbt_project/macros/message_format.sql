{# Number formatting for flag messages (portable casts). #}

{# 0.6234 -> '62' (a share or change as a whole percentage) #}
{% macro fmt_percent(expr) -%}
    cast(cast(round({{ expr }} * 100, 0) as integer) as {{ dbt.type_string() }})
{%- endmacro %}

{# 1.3456 -> '1.35' #}
{% macro fmt_decimal(expr, digits=2) -%}
    cast(cast(round({{ expr }}, {{ digits }}) as decimal(18, {{ digits }})) as {{ dbt.type_string() }})
{%- endmacro %}

{# 3.0 -> '3' #}
{% macro fmt_integer(expr) -%}
    cast(cast(round({{ expr }}, 0) as integer) as {{ dbt.type_string() }})
{%- endmacro %}

{# 419.75 (minutes) -> '6 h 59 min', 420 -> '7 h' (whole minutes, rounded down, so a value
   just under a threshold never reads as the threshold itself) #}
{% macro fmt_hours_minutes(expr) -%}
    {%- set whole = 'floor(' ~ expr ~ ')' -%}
    {%- set hours = 'floor(' ~ whole ~ ' / 60)' -%}
    {%- set minutes = '(' ~ whole ~ ' - 60 * ' ~ hours ~ ')' -%}
    {{ dbt.concat([
        fmt_integer(hours), "' h'",
        "case when " ~ minutes ~ " = 0 then '' else " ~ dbt.concat(["' '", fmt_integer(minutes), "' min'"]) ~ " end"
    ]) }}
{%- endmacro %}
