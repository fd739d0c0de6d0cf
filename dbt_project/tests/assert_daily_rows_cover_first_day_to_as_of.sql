-- Every athlete has exactly one daily row per day from the first day (a Monday) to the
-- as-of date: no gaps, nothing after the as-of date.
with

days as (

    select
        athlete_id,
        min(date) as first_date,
        max(date) as last_date,
        count(*) as n_days
    from {{ ref('daily_training_load') }}
    group by athlete_id

),

profiles as (

    select * from {{ ref('int_athlete_profile') }}

)

select days.*, profiles.first_day
from days
inner join profiles
    on days.athlete_id = profiles.athlete_id
where days.first_date <> profiles.first_day
   or days.last_date <> {{ as_of_date() }}
   or days.n_days <> {{ dbt.datediff('days.first_date', 'days.last_date', 'day') }} + 1
