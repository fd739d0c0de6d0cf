-- The three wellness inputs of METRICS.md section 7, one row per athlete and calendar
-- date (the day the athlete woke up) with any landed record, up to the as-of date:
--   resting_hr (bpm) from the daily summary, hrv_rmssd (ms, overnight rMSSD) from the HRV
--   summary, sleep_min from the sleep summary; ln_rmssd = ln(hrv_rmssd).
-- Missing values (null or <= 0) are already null in staging. Garmin accounts map to their
-- athlete through int_garmin_owner_athletes; when one date comes twice for one kind (two
-- accounts of one athlete), the record landed last wins. Dates before the athlete's first
-- day stay: the rolling windows of daily_wellness count them.

with

owners as (

    select * from {{ ref('int_garmin_owner_athletes') }}

),

landed as (

    select owner_id, calendar_date, 'daily_summary' as kind, resting_hr as value, landed_at
    from {{ ref('stg_garmin__daily_summaries') }}

    union all

    select owner_id, calendar_date, 'hrv' as kind, hrv_rmssd as value, landed_at
    from {{ ref('stg_garmin__hrv') }}

    union all

    select owner_id, calendar_date, 'sleep' as kind, sleep_min as value, landed_at
    from {{ ref('stg_garmin__sleep') }}

),

ranked as (

    select
        owners.athlete_id,
        landed.calendar_date,
        landed.kind,
        landed.value,
        row_number() over (
            partition by owners.athlete_id, landed.calendar_date, landed.kind
            order by landed.landed_at desc, landed.owner_id desc
        ) as landed_rank
    from landed
    inner join owners
        on landed.owner_id = owners.owner_id
    where landed.calendar_date <= {{ as_of_date() }}

),

final as (

    select
        athlete_id,
        calendar_date as date_day,
        max(case when kind = 'daily_summary' then value end) as resting_hr,
        max(case when kind = 'hrv' then value end) as hrv_rmssd,
        ln(max(case when kind = 'hrv' then value end)) as ln_rmssd,
        max(case when kind = 'sleep' then value end) as sleep_min
    from ranked
    where landed_rank = 1
    group by athlete_id, calendar_date

)

select * from final
