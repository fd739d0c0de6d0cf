{#
    ref() and source() render "schema"."table" without the database (catalog) part.

    DuckDB names the catalog after the file, and readers open a *copy* of the database
    (the snapshot, e.g. training.snapshot.duckdb -> catalog "training.snapshot"). A view
    whose body said "training"."staging"."x" would fail there; "staging"."x" resolves in
    whichever file is open. Tables are unaffected.
#}
{% macro ref() %}
    {%- set rel = builtins.ref(*varargs, **kwargs) -%}
    {%- if rel is not none and rel.include is defined -%}
        {%- do return(rel.include(database=false)) -%}
    {%- endif -%}
    {%- do return(rel) -%}
{% endmacro %}

{% macro source() %}
    {%- set rel = builtins.source(*varargs, **kwargs) -%}
    {%- if rel is not none and rel.include is defined -%}
        {%- do return(rel.include(database=false)) -%}
    {%- endif -%}
    {%- do return(rel) -%}
{% endmacro %}
