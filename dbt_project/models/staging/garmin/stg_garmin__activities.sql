-- One row per Garmin Connect activity (source 'garmin' rows of the shared raw activity
-- table), read from Garmin's activity-list JSON into the columns of stg_strava__activities
-- (METRICS.md section 1). Garmin leaves absent values out of the JSON (never null), so a
-- missing field reads as null here. Deleted activities are left out. athlete_id is the
-- Garmin ownerId as landed; int_activities_unified maps it to the athlete
-- (int_garmin_owner_athletes) and decides which source counts a workout that Strava or a
-- device file also has. No as-of filter here.

with

source as (

    select * from {{ source('garmin', 'activities') }}
    where source = 'garmin'

),

alive as (

    select * from source
    where deleted_at is null

),

renamed as (

    select
        alive.activity_id,
        -- the Garmin ownerId (raw.activities.athlete_id of a 'garmin' row)
        cast(coalesce(
            alive.athlete_id,
            cast({{ json_text('alive.json', 'ownerId') }} as bigint)
        ) as bigint) as athlete_id,
        alive.source,
        -- Garmin's typeKey as sent (running, trail_running, ...); the seed maps it to a category
        nullif({{ json_text('alive.json', 'activityType.typeKey') }}, '') as sport_type,
        {{ json_text('alive.json', 'activityName') }} as activity_name,
        -- 'yyyy-MM-dd HH:mm:ss' without an offset: startTimeGMT is UTC, startTimeLocal wall time
        {{ iso_text_to_timestamp(json_text('alive.json', 'startTimeGMT')) }} as start_date_utc,
        {{ iso_text_to_timestamp(json_text('alive.json', 'startTimeLocal')) }} as start_date_local,
        -- seconds (floats); movingDuration and elapsedDuration fall back to duration
        cast(coalesce(
            {{ json_text('alive.json', 'movingDuration') }},
            {{ json_text('alive.json', 'duration') }}
        ) as {{ type_double() }}) as moving_time_s,
        cast(coalesce(
            {{ json_text('alive.json', 'elapsedDuration') }},
            {{ json_text('alive.json', 'duration') }}
        ) as {{ type_double() }}) as elapsed_time_s,
        -- metres; 0 when absent
        coalesce(cast({{ json_text('alive.json', 'distance') }} as {{ type_double() }}), {{ dbl(0) }}) as distance_m,
        coalesce(cast({{ json_text('alive.json', 'elevationGain') }} as {{ type_double() }}), {{ dbl(0) }}) as elevation_gain_m,
        -- bpm
        cast({{ json_text('alive.json', 'averageHR') }} as {{ type_double() }}) as average_heartrate,
        cast({{ json_text('alive.json', 'maxHR') }} as {{ type_double() }}) as max_heartrate,
        {{ json_text('alive.json', 'averageHR') }} is not null as has_heartrate,
        -- Strava's workout_type 1 (race) when Garmin's event type is race, else unknown
        cast(case
            when {{ json_text('alive.json', 'eventType.typeKey') }} = 'race' then 1
        end as integer) as workout_type,
        coalesce({{ tolerant_cast(json_text('alive.json', 'manualActivity'), 'boolean') }}, false) as is_manual,
        false as is_trainer,
        alive.stream_signature,
        alive.first_seen_at,
        alive.updated_at
    from alive

)

select * from renamed
