-- One row per Garmin account and night: the HRV summary (an `hrvSummaries` element of
-- /hrv-service/hrv/daily, GARMIN.md), typed. calendar_date is the day the athlete woke up.
-- When a night was landed twice, the row landed last wins (METRICS.md section 7).
-- A value that is null or <= 0 is missing (null). No as-of filter here.

-- The JSON is parsed once for all its fields (json_texts; stg_strava__activities says why).

{%- set json_paths = ['lastNightAvg', 'weeklyAvg', 'status'] %}

with

ranked as (

    {{ last_landed_wellness('hrv') }}

),

typed as (

    select
        owner_id,
        calendar_date,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'lastNightAvg'), type_double()) }} as last_night_avg_ms,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'weeklyAvg'), type_double()) }} as weekly_avg_ms,
        {{ json_texts_get('json_values', json_paths, 'status') }} as hrv_status,
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
        -- overnight rMSSD, ms
        case when last_night_avg_ms > 0 then last_night_avg_ms end as hrv_rmssd,
        case when weekly_avg_ms > 0 then weekly_avg_ms end as hrv_weekly_avg,
        hrv_status,
        landed_at
    from typed

)

select * from final
