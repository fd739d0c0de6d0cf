-- One row per athlete per calendar day on the days of daily_training_load (first day to
-- the as-of date), METRICS.md section 7: the day's resting heart rate, overnight HRV and
-- sleep, and their rolling windows against the athlete's own baseline.
--   hrv_7d        mean ln rMSSD over d-6..d (>= 4 values), Plews et al. 2012/2013
--   hrv_base_*    mean and sample SD (stddev_samp) of ln rMSSD over d-60..d-1 (>= 30 values)
--   rhr_base      mean resting HR over d-60..d-1 (>= 30 values)
--   sleep_7d      mean sleep minutes over d-6..d (>= 4 values)
-- The windows are calendar dates, so they count values landed on any date, also before
-- the first day (int_daily_wellness_inputs holds nothing after the as-of date).

with

days as (

    select
        athlete_id,
        date_day,
        week_start,
        day_index,
        cast({{ dbt.dateadd('day', -60, 'date_day') }} as date) as base_window_start,
        cast({{ dbt.dateadd('day', -1, 'date_day') }} as date) as base_window_end,
        cast({{ dbt.dateadd('day', -6, 'date_day') }} as date) as week_window_start
    from {{ ref('int_calendar_days') }}

),

inputs as (

    select * from {{ ref('int_daily_wellness_inputs') }}

),

-- every landed date in d-60..d joined to day d (a self-join over dates, portable)
windows as (

    select
        days.athlete_id,
        days.date_day,
        avg(case when inputs.date_day >= days.week_window_start then inputs.ln_rmssd end) as hrv_7d_mean,
        count(case when inputs.date_day >= days.week_window_start then inputs.ln_rmssd end) as hrv_7d_values,
        avg(case when inputs.date_day <= days.base_window_end then inputs.ln_rmssd end) as hrv_base_mean,
        stddev_samp(case when inputs.date_day <= days.base_window_end then inputs.ln_rmssd end) as hrv_base_sd,
        count(case when inputs.date_day <= days.base_window_end then inputs.ln_rmssd end) as hrv_base_values,
        avg(case when inputs.date_day <= days.base_window_end then inputs.resting_hr end) as rhr_base_mean,
        count(case when inputs.date_day <= days.base_window_end then inputs.resting_hr end) as rhr_base_values,
        avg(case when inputs.date_day >= days.week_window_start then inputs.sleep_min end) as sleep_7d_mean,
        count(case when inputs.date_day >= days.week_window_start then inputs.sleep_min end) as sleep_7d_values
    from days
    left join inputs
        on days.athlete_id = inputs.athlete_id
        and inputs.date_day >= days.base_window_start
        and inputs.date_day <= days.date_day
    group by days.athlete_id, days.date_day

),

measures as (

    select
        days.athlete_id,
        days.date_day,
        days.week_start,
        days.day_index,
        today.resting_hr,
        today.hrv_rmssd,
        today.sleep_min,
        today.ln_rmssd,
        case when windows.hrv_7d_values >= 4 then windows.hrv_7d_mean end as hrv_7d,
        case when windows.hrv_base_values >= 30 then windows.hrv_base_mean end as hrv_base_mean,
        case when windows.hrv_base_values >= 30 then windows.hrv_base_sd end as hrv_base_sd,
        case when windows.rhr_base_values >= 30 then windows.rhr_base_mean end as rhr_base,
        case when windows.sleep_7d_values >= 4 then windows.sleep_7d_mean end as sleep_7d
    from days
    inner join windows
        on days.athlete_id = windows.athlete_id
        and days.date_day = windows.date_day
    left join inputs as today
        on days.athlete_id = today.athlete_id
        and days.date_day = today.date_day

),

flagged as (

    select
        measures.*,
        -- a comparison with a null is unknown -> false (booleans are never null)
        case
            when measures.hrv_7d < measures.hrv_base_mean - {{ dbl('0.5') }} * measures.hrv_base_sd then true
            else false
        end as hrv_suppressed,
        case
            when measures.resting_hr >= measures.rhr_base + {{ dbl(5) }} then true
            else false
        end as rhr_elevated
    from measures

),

final as (

    select
        athlete_id,
        date_day as date,
        resting_hr,
        hrv_rmssd,
        sleep_min,
        ln_rmssd,
        hrv_7d,
        hrv_base_mean,
        hrv_base_sd,
        hrv_suppressed,
        rhr_base,
        rhr_elevated,
        sleep_7d,
        case
            when hrv_suppressed or rhr_elevated then 'low'
            when (hrv_7d is not null and hrv_base_mean is not null)
                or (resting_hr is not null and rhr_base is not null) then 'normal'
        end as readiness,
        -- extras
        week_start,
        day_index
    from flagged

)

select * from final
