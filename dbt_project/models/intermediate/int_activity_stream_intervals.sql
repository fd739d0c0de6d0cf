{{ config(materialized='view') }}
-- Counted HR stream intervals (METRICS.md section 3): for sample i >= 1 of the stream of
-- the activity's kept row, dt_i = time[i] - time[i-1]; the interval counts when
-- 0 < dt_i <= 30 and heartrate[i] > 0, and belongs to the zone of heartrate[i]. Longer
-- gaps are pauses and count nowhere. One row per counted interval, with its TRIMP.
-- Streams are matched on (source, activity_id): only the kept row's own stream is read, so
-- a dropped duplicate's stream never counts and a Garmin activity never reads a Strava
-- stream that happens to share its numeric id.

with

activities as (

    select * from {{ ref('int_activities_categorized') }}

),

streams as (

    select * from {{ ref('stg_strava__streams') }}

),

profiles as (

    select * from {{ ref('int_athlete_profile') }}

),

-- only the stream of the kept row: its own source and id
activity_samples as (

    select
        activities.source,
        activities.activity_id,
        activities.athlete_id,
        streams.seq,
        streams.time_s,
        streams.heartrate
    from activities
    inner join streams
        on activities.source = streams.source
        and activities.activity_id = streams.activity_id

),

with_previous as (

    select
        source,
        activity_id,
        athlete_id,
        seq,
        heartrate,
        time_s - lag(time_s) over (partition by source, activity_id order by seq) as dt_s
    from activity_samples

),

counted as (

    select * from with_previous
    where dt_s > 0
      and dt_s <= 30
      and heartrate > 0

),

zoned as (

    select
        counted.source,
        counted.activity_id,
        counted.athlete_id,
        counted.seq,
        counted.dt_s,
        counted.heartrate,
        {{ hr_zone('cast(counted.heartrate as ' ~ type_double() ~ ')', 'profiles.lthr') }} as hr_zone,
        {{ hr_reserve_fraction('cast(counted.heartrate as ' ~ type_double() ~ ')', 'profiles.hr_rest', 'profiles.hr_max') }} as hr_reserve_fraction,
        profiles.trimp_k,
        profiles.trimp_b
    from counted
    inner join profiles
        on counted.athlete_id = profiles.athlete_id

),

final as (

    select
        source,
        activity_id,
        athlete_id,
        seq,
        dt_s,
        heartrate,
        hr_zone,
        hr_reserve_fraction,
        (cast(dt_s as {{ type_double() }}) / 60)
            * {{ trimp_weight('hr_reserve_fraction', 'trimp_k', 'trimp_b') }} as trimp
    from zoned

)

select * from final
