-- One row per athlete per ISO week (Monday start) from the first day's week to the week
-- holding the as-of date, empty weeks included (METRICS.md section 5), with the weekly
-- wellness columns of section 7. The "counted days" of a week are its days up to the
-- as-of date.

with

days as (

    select * from {{ ref('daily_training_load') }}

),

activities as (

    select * from {{ ref('activities') }}

),

wellness as (

    select * from {{ ref('daily_wellness') }}

),

-- the athlete's own min_runs_per_week (raw.athlete_profiles, default 3)
profiles as (

    select athlete_id, min_runs_per_week from {{ ref('int_athlete_profile') }}

),

day_totals as (

    select
        athlete_id,
        week_start,
        max(date) as last_counted_day,
        count(*) as days_elapsed,
        sum(load) as weekly_load,
        sum(case when activity_count > 0 then 1 else 0 end) as active_days,
        max(load) as max_daily_load,
        min(load) as min_daily_load,
        avg(load) as mean_daily_load,
        stddev_pop(load) as stddev_daily_load
    from days
    group by athlete_id, week_start

),

-- settled days: at least `settled_days` after the first day and ctl > 0; ratio = tsb / ctl
settled_days as (

    select
        athlete_id,
        week_start,
        day_index,
        tsb / ctl as tsb_ratio
    from days
    where day_index >= {{ var('settled_days') }}
      and ctl > 0

),

fatigued_days as (

    select
        athlete_id,
        week_start,
        -- consecutive days share the same value (gaps and islands)
        day_index - row_number() over (partition by athlete_id, week_start order by day_index) as island
    from settled_days
    where tsb_ratio < {{ num_var('fatigue_ratio') }}

),

fatigue_islands as (

    select athlete_id, week_start, island, count(*) as island_days
    from fatigued_days
    group by athlete_id, week_start, island

),

form as (

    select
        settled_days.athlete_id,
        settled_days.week_start,
        min(settled_days.tsb_ratio) as min_tsb_ratio
    from settled_days
    group by settled_days.athlete_id, settled_days.week_start

),

fatigue as (

    select athlete_id, week_start, max(island_days) as fatigue_days
    from fatigue_islands
    group by athlete_id, week_start

),

activity_totals as (

    select
        athlete_id,
        week_start,
        sum(case when category = 'run' then 1 else 0 end) as run_count,
        sum(case when category = 'run' then distance_km else 0 end) as run_distance_km,
        sum(case when category = 'run' then moving_min else 0 end) as run_moving_min,
        sum(case when category = 'run' then elevation_gain_m else 0 end) as run_elevation_gain_m,
        max(case when category = 'run' then distance_km end) as longest_run_km,
        sum(moving_min) as total_moving_min,
        sum(case when category = 'strength' then 1 else 0 end) as strength_sessions,
        sum(case when category = 'run' then easy_min else 0 end) as easy_min,
        sum(case when category = 'run' then moderate_min else 0 end) as moderate_min,
        sum(case when category = 'run' then hard_min else 0 end) as hard_min,
        sum(case when category = 'run' then unclassified_min else 0 end) as unclassified_min,
        sum(case when is_quality then 1 else 0 end) as quality_sessions,
        max(long_run_spike_ratio) as max_long_run_spike_ratio
    from activities
    group by athlete_id, week_start

),

-- wellness over the week's counted days (daily_wellness has exactly those days)
wellness_totals as (

    select
        athlete_id,
        week_start,
        sum(
            case
                when resting_hr is not null or hrv_rmssd is not null or sleep_min is not null then 1
                else 0
            end
        ) as wellness_days,
        sum(case when hrv_suppressed then 1 else 0 end) as hrv_suppressed_days,
        sum(case when rhr_elevated then 1 else 0 end) as rhr_elevated_days,
        sum(case when sleep_min is not null then 1 else 0 end) as sleep_nights,
        avg(sleep_min) as avg_sleep_min
    from wellness
    group by athlete_id, week_start

),

-- quality runs on a day whose readiness is 'low'
low_readiness_quality as (

    select
        activities.athlete_id,
        activities.week_start,
        count(*) as quality_on_low_readiness
    from activities
    inner join wellness
        on activities.athlete_id = wellness.athlete_id
        and activities.local_date = wellness.date
    where activities.is_quality
      and wellness.readiness = 'low'
    group by activities.athlete_id, activities.week_start

),

weeks as (

    select
        day_totals.athlete_id,
        day_totals.week_start,
        cast({{ dbt.dateadd('day', 6, 'day_totals.week_start') }} as date) <= {{ as_of_date() }} as is_complete,
        day_totals.days_elapsed,
        coalesce(activity_totals.run_count, 0) as run_count,
        coalesce(activity_totals.run_distance_km, 0) as run_distance_km,
        coalesce(activity_totals.run_moving_min, 0) as run_moving_min,
        coalesce(activity_totals.run_elevation_gain_m, 0) as run_elevation_gain_m,
        coalesce(activity_totals.run_distance_km, 0)
            + coalesce(activity_totals.run_elevation_gain_m, 0) / 100 as run_km_effort,
        activity_totals.longest_run_km,
        coalesce(activity_totals.total_moving_min, 0) as total_moving_min,
        coalesce(activity_totals.strength_sessions, 0) as strength_sessions,
        coalesce(activity_totals.easy_min, 0) as easy_min,
        coalesce(activity_totals.moderate_min, 0) as moderate_min,
        coalesce(activity_totals.hard_min, 0) as hard_min,
        coalesce(activity_totals.unclassified_min, 0) as unclassified_min,
        coalesce(activity_totals.quality_sessions, 0) as quality_sessions,
        day_totals.active_days,
        day_totals.days_elapsed - day_totals.active_days as rest_days,
        day_totals.weekly_load,
        -- stddev_pop = 0 exactly when all seven loads are equal (tested as max = min, so
        -- that rounding in the variance cannot turn a flat week into a huge monotony)
        case
            when day_totals.days_elapsed = 7 and day_totals.max_daily_load <> day_totals.min_daily_load
                then day_totals.mean_daily_load / day_totals.stddev_daily_load
        end as monotony,
        day_totals.last_counted_day,
        activity_totals.max_long_run_spike_ratio,
        profiles.min_runs_per_week
    from day_totals
    left join activity_totals
        on day_totals.athlete_id = activity_totals.athlete_id
        and day_totals.week_start = activity_totals.week_start
    left join profiles
        on day_totals.athlete_id = profiles.athlete_id

),

with_history as (

    select
        weeks.*,
        row_number() over (partition by athlete_id order by week_start) - 1 as week_index,
        avg(run_km_effort) over (
            partition by athlete_id order by week_start
            rows between 4 preceding and 1 preceding
        ) as previous_4w_mean_km_effort,
        count(*) over (
            partition by athlete_id order by week_start
            rows between 4 preceding and 1 preceding
        ) as previous_weeks_counted,
        run_count >= min_runs_per_week as consistent_week,
        avg(case when run_count >= min_runs_per_week then {{ dbl(1) }} else {{ dbl(0) }} end) over (
            partition by athlete_id order by week_start
            rows between 11 preceding and current row
        ) as consistency_12w,
        count(*) over (
            partition by athlete_id order by week_start
            rows between 11 preceding and current row
        ) as consistency_weeks,
        lag(strength_sessions) over (partition by athlete_id order by week_start) as previous_strength_sessions
    from weeks

),

final as (

    select
        with_history.athlete_id,
        with_history.week_start,
        with_history.is_complete,
        with_history.days_elapsed,
        with_history.run_count,
        with_history.run_distance_km,
        with_history.run_moving_min,
        with_history.run_elevation_gain_m,
        with_history.run_km_effort,
        with_history.longest_run_km,
        with_history.total_moving_min,
        with_history.strength_sessions,
        with_history.easy_min,
        with_history.moderate_min,
        with_history.hard_min,
        with_history.unclassified_min,
        case
            when with_history.easy_min + with_history.moderate_min + with_history.hard_min > 0
                then with_history.easy_min
                    / (with_history.easy_min + with_history.moderate_min + with_history.hard_min)
        end as easy_share,
        with_history.quality_sessions,
        with_history.active_days,
        with_history.rest_days,
        with_history.weekly_load,
        with_history.monotony,
        with_history.weekly_load * with_history.monotony as strain,
        week_end.ctl as ctl_end,
        week_end.atl as atl_end,
        week_end.tsb as tsb_end,
        week_end.acwr as acwr_end,
        form.min_tsb_ratio,
        coalesce(fatigue.fatigue_days, 0) as fatigue_days,
        case
            when with_history.previous_weeks_counted = 4
                and with_history.previous_4w_mean_km_effort <> 0
                then with_history.run_km_effort / with_history.previous_4w_mean_km_effort - 1
        end as volume_change,
        with_history.consistent_week,
        with_history.consistency_12w,
        -- wellness (METRICS.md section 7): counts are 0, never null, for weeks without data
        coalesce(wellness_totals.wellness_days, 0) as wellness_days,
        coalesce(wellness_totals.hrv_suppressed_days, 0) as hrv_suppressed_days,
        coalesce(wellness_totals.rhr_elevated_days, 0) as rhr_elevated_days,
        coalesce(wellness_totals.sleep_nights, 0) as sleep_nights,
        wellness_totals.avg_sleep_min,
        coalesce(low_readiness_quality.quality_on_low_readiness, 0) as quality_on_low_readiness,
        -- extras
        cast({{ dbt.dateadd('day', 6, 'with_history.week_start') }} as date) as week_end,
        with_history.last_counted_day,
        with_history.week_index,
        with_history.consistency_weeks,
        with_history.previous_strength_sessions,
        with_history.max_long_run_spike_ratio,
        with_history.min_runs_per_week
    from with_history
    inner join days as week_end
        on with_history.athlete_id = week_end.athlete_id
        and with_history.last_counted_day = week_end.date
    left join form
        on with_history.athlete_id = form.athlete_id
        and with_history.week_start = form.week_start
    left join fatigue
        on with_history.athlete_id = fatigue.athlete_id
        and with_history.week_start = fatigue.week_start
    left join wellness_totals
        on with_history.athlete_id = wellness_totals.athlete_id
        and with_history.week_start = wellness_totals.week_start
    left join low_readiness_quality
        on with_history.athlete_id = low_readiness_quality.athlete_id
        and with_history.week_start = low_readiness_quality.week_start

)

select * from final
