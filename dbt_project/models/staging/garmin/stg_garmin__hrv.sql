-- One row per Garmin account and night: the HRV summary (an `hrvSummaries` element of
-- /hrv-service/hrv/daily, GARMIN.md), typed. calendar_date is the day the athlete woke up.
-- When a night was landed twice, the row landed last wins (METRICS.md section 7).
-- A value that is null or <= 0 is missing (null). No as-of filter here.

with

ranked as (

    {{ last_landed_wellness('hrv') }}

),

typed as (

    select
        owner_id,
        calendar_date,
        {{ tolerant_cast(json_text('json', 'lastNightAvg'), type_double()) }} as last_night_avg_ms,
        {{ tolerant_cast(json_text('json', 'weeklyAvg'), type_double()) }} as weekly_avg_ms,
        {{ json_text('json', 'status') }} as hrv_status,
        landed_at
    from ranked

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
