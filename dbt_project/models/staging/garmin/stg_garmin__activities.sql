-- One row per Garmin Connect activity (source 'garmin' rows of the shared raw activity
-- table), read from Garmin's activity-list JSON into the columns of stg_strava__activities
-- (METRICS.md section 1). Garmin leaves absent values out of the JSON (never null), so a
-- missing field reads as null here. Deleted activities are left out. athlete_id is the
-- Garmin ownerId as landed; int_activities_unified maps it to the athlete
-- (int_garmin_owner_athletes) and decides which source counts a workout that Strava or a
-- device file also has. No as-of filter here.

-- A table, each JSON document parsed once (json_texts), for the reasons of
-- stg_strava__activities: as a view the JSON was read again by int_activities_unified and
-- every data test below (a 1,000-athlete club with 30 % Garmin users: some 8 s a test).

{{ config(materialized='table') }}

{%- set json_paths = [
    'ownerId', 'activityType.typeKey', 'activityName', 'startTimeGMT', 'startTimeLocal',
    'movingDuration', 'duration', 'elapsedDuration', 'distance', 'elevationGain', 'averageHR',
    'maxHR', 'eventType.typeKey', 'manualActivity',
] %}

with

source as (

    select * from {{ source('garmin', 'activities') }}
    where source = 'garmin'

),

alive as (

    select
        source.*,
        {{ json_texts('source.json', json_paths) }} as json_values
    from source
    where deleted_at is null

),

renamed as (

    select
        alive.activity_id,
        -- the Garmin ownerId (raw.activities.athlete_id of a 'garmin' row)
        cast(coalesce(
            alive.athlete_id,
            cast({{ json_texts_get('alive.json_values', json_paths, 'ownerId') }} as bigint)
        ) as bigint) as athlete_id,
        alive.source,
        -- Garmin's typeKey as sent (running, trail_running, ...); the seed maps it to a category
        nullif({{ json_texts_get('alive.json_values', json_paths, 'activityType.typeKey') }}, '') as sport_type,
        {{ json_texts_get('alive.json_values', json_paths, 'activityName') }} as activity_name,
        -- 'yyyy-MM-dd HH:mm:ss' without an offset: startTimeGMT is UTC, startTimeLocal wall time
        {{ iso_text_to_timestamp(json_texts_get('alive.json_values', json_paths, 'startTimeGMT')) }} as start_date_utc,
        {{ iso_text_to_timestamp(json_texts_get('alive.json_values', json_paths, 'startTimeLocal')) }} as start_date_local,
        -- seconds (floats); movingDuration and elapsedDuration fall back to duration
        cast(coalesce(
            {{ json_texts_get('alive.json_values', json_paths, 'movingDuration') }},
            {{ json_texts_get('alive.json_values', json_paths, 'duration') }}
        ) as {{ type_double() }}) as moving_time_s,
        cast(coalesce(
            {{ json_texts_get('alive.json_values', json_paths, 'elapsedDuration') }},
            {{ json_texts_get('alive.json_values', json_paths, 'duration') }}
        ) as {{ type_double() }}) as elapsed_time_s,
        -- metres; 0 when absent
        coalesce(cast({{ json_texts_get('alive.json_values', json_paths, 'distance') }} as {{ type_double() }}), {{ dbl(0) }}) as distance_m,
        coalesce(cast({{ json_texts_get('alive.json_values', json_paths, 'elevationGain') }} as {{ type_double() }}), {{ dbl(0) }}) as elevation_gain_m,
        -- bpm
        cast({{ json_texts_get('alive.json_values', json_paths, 'averageHR') }} as {{ type_double() }}) as average_heartrate,
        cast({{ json_texts_get('alive.json_values', json_paths, 'maxHR') }} as {{ type_double() }}) as max_heartrate,
        {{ json_texts_get('alive.json_values', json_paths, 'averageHR') }} is not null as has_heartrate,
        -- Strava's workout_type 1 (race) when Garmin's event type is race, else unknown
        cast(case
            when {{ json_texts_get('alive.json_values', json_paths, 'eventType.typeKey') }} = 'race' then 1
        end as integer) as workout_type,
        coalesce({{ tolerant_cast(json_texts_get('alive.json_values', json_paths, 'manualActivity'), 'boolean') }}, false) as is_manual,
        false as is_trainer,
        alive.stream_signature,
        alive.first_seen_at,
        alive.updated_at
    from alive

)

select * from renamed
