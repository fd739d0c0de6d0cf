{#
    Schemas are used exactly as configured (no "<target>_<custom>" prefixing), so the marts
    land in `main` and `select * from weekly_training_summary` works; staging, intermediate
    and seeds get their own schemas.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
