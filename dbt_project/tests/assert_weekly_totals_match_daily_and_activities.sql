-- The weekly summary adds up: its load equals the sum of the daily loads, its running
-- distance the sum over the week's runs, and its total minutes the sum over activities.
with

weekly as (

    select * from {{ ref('weekly_training_summary') }}

),

daily as (

    select athlete_id, week_start, sum(load) as load
    from {{ ref('daily_training_load') }}
    group by athlete_id, week_start

),

acts as (

    select
        athlete_id,
        week_start,
        sum(case when category = 'run' then distance_km else 0 end) as run_distance_km,
        sum(moving_min) as total_moving_min
    from {{ ref('activities') }}
    group by athlete_id, week_start

)

select weekly.athlete_id, weekly.week_start
from weekly
left join daily
    on weekly.athlete_id = daily.athlete_id and weekly.week_start = daily.week_start
left join acts
    on weekly.athlete_id = acts.athlete_id and weekly.week_start = acts.week_start
where abs(weekly.weekly_load - coalesce(daily.load, 0)) > 1e-9 * (1 + abs(weekly.weekly_load))
   or abs(weekly.run_distance_km - coalesce(acts.run_distance_km, 0)) > 1e-9 * (1 + weekly.run_distance_km)
   or abs(weekly.total_moving_min - coalesce(acts.total_moving_min, 0)) > 1e-9 * (1 + weekly.total_moving_min)
