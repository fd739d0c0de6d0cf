{#
    The dbt sources on Spark: the raw tables of the Parquet export (`trainsmart export-raw`,
    pipelines/exports/raw_parquet.py) as views in schema `raw`, so every source('...') and
    every model reads the same names as on DuckDB.

        dbt run-operation register_raw_parquet --target spark [--args '{root: /path/to/export}']

    root defaults to TRAINSMART_HOME/raw-parquet, marts_root to TRAINSMART_HOME/spark/marts
    (on a cluster: bucket URLs, s3a://...). Run it before the first build.

    One view per raw table a source names, over parquet.`<root>/<table>`: Spark discovers the
    athlete_id=/source= folders itself (so a filter on athlete_id prunes folders), and Spark
    lists the files at each query, so a new export (same folder) needs no new registration;
    only a change of columns does.
    - athlete_id is cast back to bigint: Spark infers a partition column's type from the
      folder names (int for small ids); the files themselves hold bigint.
    - The marts' schema `main` is created at marts_root, so each mart lands as Parquet files
      in spark/marts/<mart>/ (CONTRACT.md), readable by DuckDB.
    A no-op on other adapters (DuckDB reads its own raw schema).
#}
{% macro register_raw_parquet(root=none, marts_root=none) %}
    {%- if target.type != 'spark' -%}
        {%- do log("register_raw_parquet: nothing to do on " ~ target.type, info=true) -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set home = env_var('TRAINSMART_HOME', '../data') -%}
    {%- set root = (root or home ~ '/raw-parquet') | replace('\\', '/') -%}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.schema == 'raw' and node.identifier not in tables -%}
            {%- do tables.append(node.identifier) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do run_query("create schema if not exists raw") -%}
    {%- set marts_root = marts_root or home ~ '/spark/marts' -%}
    {%- do run_query("create schema if not exists main location '" ~ marts_root ~ "'") -%}
    {%- for table in tables | sort -%}
        {%- set files = "parquet.`" ~ root ~ "/" ~ table ~ "`" -%}
        {%- set described = run_query("describe query select * from " ~ files) -%}
        {%- set columns = [] -%}
        {%- for row in described.rows -%}
            {%- set name = row[0] -%}
            {%- if name == 'athlete_id' -%}
                {%- do columns.append("cast(`athlete_id` as bigint) as `athlete_id`") -%}
            {%- else -%}
                {%- do columns.append("`" ~ name ~ "`") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do run_query("create or replace view raw.`" ~ table ~ "` as select " ~ columns | join(", ") ~ " from " ~ files) -%}
        {%- do log("raw." ~ table ~ " -> " ~ root ~ "/" ~ table, info=true) -%}
    {%- endfor -%}
{% endmacro %}
