-- Day spine (METRICS.md section 4): one row per athlete per calendar day from the
-- athlete's first day (the Monday of the week of the first activity) to the as-of date.
-- day_index counts days since the first day (0 on the first day).

with

profiles as (

    select
        athlete_id,
        first_day,
        {{ as_of_date() }} as as_of_date
    from {{ ref('int_athlete_profile') }}

),

days as (

    {{ day_series('profiles', 'athlete_id', 'first_day', 'as_of_date', 'date_day') }}

),

final as (

    select
        days.athlete_id,
        days.date_day,
        cast({{ dbt.date_trunc('week', 'days.date_day') }} as date) as week_start,
        cast({{ dbt.datediff('profiles.first_day', 'days.date_day', 'day') }} as integer) as day_index
    from days
    inner join profiles
        on days.athlete_id = profiles.athlete_id

)

select * from final
