-- One row per Garmin account and night: the daily sleep object of
-- /sleep-service/sleep/dailySleepSummariesByDate (GARMIN.md), typed; seconds become
-- minutes. calendar_date is the day the athlete woke up. When a night was landed twice,
-- the row landed last wins (METRICS.md section 7). A value that is null or <= 0 is
-- missing (null): a day without data comes back with null numbers. No as-of filter here.

-- The JSON is parsed once for all its fields (json_texts; stg_strava__activities says why).

{%- set json_paths = ['sleepTimeSeconds', 'deepSleepSeconds', 'lightSleepSeconds', 'remSleepSeconds', 'awakeSleepSeconds', 'sleepScores.overall.value'] %}

with

ranked as (

    {{ last_landed_wellness('sleep') }}

),

typed as (

    select
        owner_id,
        calendar_date,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'sleepTimeSeconds'), type_double()) }} as sleep_time_s,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'deepSleepSeconds'), type_double()) }} as deep_sleep_s,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'lightSleepSeconds'), type_double()) }} as light_sleep_s,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'remSleepSeconds'), type_double()) }} as rem_sleep_s,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'awakeSleepSeconds'), type_double()) }} as awake_s,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'sleepScores.overall.value'), type_double()) }} as sleep_score,
        landed_at
    from (
        select ranked.*, {{ json_texts('ranked.json', json_paths) }} as json_values
        from ranked
    ) as parsed

),

final as (

    select
        owner_id,
        calendar_date,
        -- minutes asleep (sleepTimeSeconds / 60)
        case when sleep_time_s > 0 then sleep_time_s / 60 end as sleep_min,
        case when deep_sleep_s > 0 then deep_sleep_s / 60 end as deep_sleep_min,
        case when light_sleep_s > 0 then light_sleep_s / 60 end as light_sleep_min,
        case when rem_sleep_s > 0 then rem_sleep_s / 60 end as rem_sleep_min,
        case when awake_s > 0 then awake_s / 60 end as awake_min,
        case when sleep_score > 0 then sleep_score end as sleep_score,
        landed_at
    from typed

)

select * from final
