-- One row per Garmin account and day: the v2 daily summary of
-- /usersummary-service/v2/dailysummaries (GARMIN.md), typed. When a day was landed twice,
-- the row landed last wins (METRICS.md section 7). A value that is null or <= 0 is
-- missing (null). No as-of filter here.

-- The JSON is parsed once for all its fields (json_texts; stg_strava__activities says why).

{%- set json_paths = ['heartRate.restingValue', 'heartRate.minValue', 'heartRate.maxValue', 'stress.avgLevel', 'movement.steps.value'] %}

with

ranked as (

    {{ last_landed_wellness('daily_summary') }}

),

typed as (

    select
        owner_id,
        calendar_date,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'heartRate.restingValue'), type_double()) }} as resting_value_bpm,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'heartRate.minValue'), type_double()) }} as min_value_bpm,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'heartRate.maxValue'), type_double()) }} as max_value_bpm,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'stress.avgLevel'), type_double()) }} as avg_stress,
        {{ tolerant_cast(json_texts_get('json_values', json_paths, 'movement.steps.value'), type_double()) }} as step_count,
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
        -- bpm
        case when resting_value_bpm > 0 then resting_value_bpm end as resting_hr,
        case when min_value_bpm > 0 then min_value_bpm end as min_hr,
        case when max_value_bpm > 0 then max_value_bpm end as max_hr,
        case when avg_stress > 0 then avg_stress end as avg_stress,
        case when step_count > 0 then step_count end as steps,
        landed_at
    from typed

)

select * from final
