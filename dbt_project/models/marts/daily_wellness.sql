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
        day_index
    from {{ ref('int_calendar_days') }}

),

inputs as (

    select * from {{ ref('int_daily_wellness_inputs') }}

),

-- the dates the windows run over: the athlete's days and every date with a landed value
-- (also before the first day), for the athletes with any wellness data (the others' windows
-- are all empty: their rows get nulls below)
calendar as (

    select days.athlete_id, days.date_day
    from days
    where days.athlete_id in (select inputs.athlete_id from inputs)

    union

    select inputs.athlete_id, inputs.date_day
    from inputs

),

numbered as (

    select
        calendar.athlete_id,
        calendar.date_day,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'calendar.date_day', 'day') }} as day_number,
        inputs.ln_rmssd,
        inputs.resting_hr,
        inputs.sleep_min
    from calendar
    left join inputs
        on calendar.athlete_id = inputs.athlete_id
        and calendar.date_day = inputs.date_day

),

-- calendar windows as range frames over the day number: d-6..d and d-60..d-1 (the self-join
-- of every day with its 61 dates that these replace took 28 CPU seconds on a 1,000-athlete
-- club with 30 % Garmin users, these 5; scripts/bench_club_build.py)
windows as (

    select
        athlete_id,
        date_day,
        avg(ln_rmssd) over last_7_days as hrv_7d_mean,
        count(ln_rmssd) over last_7_days as hrv_7d_values,
        avg(ln_rmssd) over previous_60_days as hrv_base_mean,
        stddev_samp(ln_rmssd) over previous_60_days as hrv_base_sd,
        count(ln_rmssd) over previous_60_days as hrv_base_values,
        avg(resting_hr) over previous_60_days as rhr_base_mean,
        count(resting_hr) over previous_60_days as rhr_base_values,
        avg(sleep_min) over last_7_days as sleep_7d_mean,
        count(sleep_min) over last_7_days as sleep_7d_values
    from numbered
    window
        last_7_days as (partition by athlete_id order by day_number range between 6 preceding and current row),
        previous_60_days as (partition by athlete_id order by day_number range between 60 preceding and 1 preceding)

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
    left join windows
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
