{#
    Reading the project vars (dbt_project.yml) as SQL literals.

    Precedence for the as-of date:
      1. --vars '{"as_of_date": "2026-03-01"}' (unit tests, runs by hand)
      2. TRAINSMART_AS_OF (how the pipeline passes it: vars are part of dbt's partial-parsing
         check, and a date that moves nightly would re-parse the whole project)
      3. today: the local date at which this dbt run started.
    The athlete profile is not read here: it is data (source trainsmart.athlete_profiles,
    see int_athlete_profile).
#}

{% macro _var_or_env(name, env_name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = env_var(env_name, '') if env_name else '' -%}
    {%- endif -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- do return(value | string | trim) -%}
{%- endmacro %}


{#
    The as-of date as text YYYY-MM-DD.
    Read only when dbt executes, not while it parses: an environment variable read at parse
    time is tracked by dbt, and a new value (every night) re-parses every model using it.
#}
{% macro as_of_date_text() -%}
    {%- if not execute -%}
        {%- do return('1970-01-01') -%}
    {%- endif -%}
    {%- set value = _var_or_env('as_of_date', 'TRAINSMART_AS_OF') -%}
    {%- if value is none -%}
        {%- set value = run_started_at.astimezone().date().isoformat() -%}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {%- do exceptions.raise_compiler_error("as_of_date must be a date like 2026-03-01, got '" ~ value ~ "'") -%}
    {%- endif -%}
    {%- do return(value) -%}
{%- endmacro %}

{# The as-of date as a SQL date expression. #}
{% macro as_of_date() -%}
    cast('{{ as_of_date_text() }}' as date)
{%- endmacro %}


{#
    A threshold / setting var as a double literal. Defaults live in dbt_project.yml.
#}
{% macro num_var(name) -%}
    {%- set value = var(name) -%}
    {%- if value is none or not modules.re.match('^[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$', value | string | trim) -%}
        {%- do exceptions.raise_compiler_error("var " ~ name ~ " must be a number, got '" ~ value ~ "'") -%}
    {%- endif -%}
    {{ dbl(value | string | trim) }}
{%- endmacro %}
