{#
    The Garmin wellness rows of one kind ('hrv', 'sleep', 'daily_summary'), one per account
    and calendar day: when a day was landed twice, the row landed last wins (METRICS.md
    section 7). Shared by the three staging models of raw.garmin_wellness.
#}
{% macro last_landed_wellness(kind) -%}
    select * from (
        select
            wellness.*,
            row_number() over (
                partition by wellness.owner_id, wellness.calendar_date
                order by wellness.landed_at desc
            ) as landed_rank
        from {{ source('garmin', 'wellness') }} as wellness
        where wellness.kind = '{{ kind }}'
    ) as ranked_rows
    where landed_rank = 1
{%- endmacro %}
