{#
    Generic test: none of the model's `columns` holds a null; each failing row names a
    column and counts its null rows.

    One test per model rather than dbt's not_null on each column: every test node costs a
    build about 13 ms of dbt's own work whatever its SQL, and 95 single-column not_null tests
    were a fifth of a nightly `dbt build` (1.2 of 6 CPU-s for the sample athlete); this
    reads each model once. Primary keys keep `unique` and `not_null`, and a column whose
    nulls should only warn keeps its own not_null with `severity: warn`.
#}
{% test not_null_columns(model, columns) %}
    with null_rows as (
        select
        {%- for column in columns %}
            sum(case when {{ column }} is null then 1 else 0 end) as n_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ model }}
    )
    {%- for column in columns %}
    select '{{ column }}' as column_name, n_{{ loop.index }} as null_rows from null_rows where n_{{ loop.index }} > 0
    {{- " union all" if not loop.last }}
    {%- endfor %}
{% endtest %}
