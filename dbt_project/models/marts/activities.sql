-- One row per non-deleted activity with local_date up to the as-of date (METRICS.md
-- section 3; columns of CONTRACT.md first, extras after).

with

activities as (

    select * from {{ ref('int_activities_categorized') }}

),

zones_trimp as (

    select * from {{ ref('int_activity_zones_trimp') }}

),

profiles as (

    select * from {{ ref('int_athlete_profile') }}

),

runs as (

    select
        source,
        activity_id,
        athlete_id,
        distance_km,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'local_date', 'day') }} as day_number
    from activities
    where category = 'run'

),

-- longest run with distance > 0 and local_date in [local_date - 30, local_date - 1]: a
-- window over the athlete's runs by day number (a self-join over all pairs of an
-- athlete's runs took twice as long on a 1,000-athlete club; scripts/bench_club_build.py)
longest_prior_run as (

    select
        source,
        activity_id,
        max(case when distance_km > 0 then distance_km end) over (
            partition by athlete_id
            order by day_number
            range between 30 preceding and 1 preceding
        ) as longest_prior_30d_km
    from runs

),

final as (

    select
        activities.activity_id,
        activities.athlete_id,
        activities.sport_type,
        activities.category,
        activities.start_date_local,
        activities.local_date,
        activities.week_start,
        activities.distance_km,
        activities.moving_min,
        activities.elevation_gain_m,
        activities.average_heartrate,
        zones_trimp.easy_min,
        zones_trimp.moderate_min,
        zones_trimp.hard_min,
        zones_trimp.unclassified_min,
        zones_trimp.trimp,
        (
            activities.category = 'run'
            and (
                zones_trimp.moderate_min + zones_trimp.hard_min >= 15
                or coalesce(activities.workout_type, -1) in (1, 3)
            )
        ) as is_quality,
        case
            when activities.category = 'run'
                and {{ dbt.datediff('profiles.first_day', 'activities.local_date', 'day') }} >= 30
                and longest_prior_run.longest_prior_30d_km > 0
                then activities.distance_km / longest_prior_run.longest_prior_30d_km
        end as long_run_spike_ratio,
        activities.source,
        -- extras
        activities.activity_name,
        activities.start_date_utc,
        activities.elapsed_min,
        activities.max_heartrate,
        activities.workout_type,
        activities.is_manual,
        activities.is_trainer,
        zones_trimp.load_method,
        zones_trimp.counted_intervals as counted_hr_intervals,
        longest_prior_run.longest_prior_30d_km
    from activities
    inner join zones_trimp
        on activities.source = zones_trimp.source
        and activities.activity_id = zones_trimp.activity_id
    inner join profiles
        on activities.athlete_id = profiles.athlete_id
    left join longest_prior_run
        on activities.source = longest_prior_run.source
        and activities.activity_id = longest_prior_run.activity_id

)

select * from final
