-- One row per Strava activity: the API, bulk-export and device-file landings unified
-- (same activity_id -> the 'api' row wins over 'export' over 'files'), typed and renamed
-- from the raw JSON. An activity whose winning row is marked deleted is left out: a
-- deletion seen upstream by the API beats an older export that still holds it.
-- Only the Strava-shaped landings are read ('garmin' rows of the same raw table are
-- stg_garmin__activities). The same workout under another id (a device file of a Strava
-- activity, a Garmin copy) is resolved in int_activities_unified, so is the athlete of a
-- device file when neither the row nor any Strava landing names one (athlete_id null here).
-- No as-of filter here (that is intermediate's job).

with

source as (

    select * from {{ source('strava', 'activities') }}
    where source in ('api', 'export', 'files')

),

athletes as (

    select * from {{ source('strava', 'athlete') }}

),

-- Rows landed without an athlete id (device files; the importer writes 0 when it knew
-- none) belong to the synced athlete, else to the lowest athlete id of the Strava-shaped
-- landings, else to nobody yet (null: int_activities_unified falls back to Garmin's).
fallback_athlete as (

    select
        coalesce(
            (select min(athletes.athlete_id) from athletes),
            (select min(source.athlete_id) from source where source.athlete_id <> 0)
        ) as athlete_id

),

ranked as (

    select
        source.*,
        row_number() over (
            partition by source.activity_id
            order by
                case source.source
                    when 'api' then 1
                    when 'export' then 2
                    when 'files' then 3
                    else 4
                end,
                source.updated_at desc
        ) as source_rank
    from source

),

winners as (

    select * from ranked
    where source_rank = 1 and deleted_at is null

),

renamed as (

    select
        winners.activity_id,
        cast(coalesce(
            nullif(winners.athlete_id, 0),
            nullif(cast({{ json_text('winners.json', 'athlete.id') }} as bigint), 0),
            fallback_athlete.athlete_id
        ) as bigint) as athlete_id,
        winners.source,
        -- the string exactly as Strava sent it; stravalib would have rewritten unknown types
        coalesce(
            nullif({{ json_text('winners.json', 'sport_type') }}, ''),
            nullif({{ json_text('winners.json', 'type') }}, '')
        ) as sport_type,
        {{ json_text('winners.json', 'name') }} as activity_name,
        {{ iso_text_to_timestamp(json_text('winners.json', 'start_date')) }} as start_date_utc,
        -- local wall time; Strava labels it Z but it is not UTC
        {{ iso_text_to_timestamp(json_text('winners.json', 'start_date_local')) }} as start_date_local,
        cast({{ json_text('winners.json', 'moving_time') }} as {{ type_double() }}) as moving_time_s,
        cast({{ json_text('winners.json', 'elapsed_time') }} as {{ type_double() }}) as elapsed_time_s,
        cast({{ json_text('winners.json', 'distance') }} as {{ type_double() }}) as distance_m,
        cast({{ json_text('winners.json', 'total_elevation_gain') }} as {{ type_double() }}) as elevation_gain_m,
        cast({{ json_text('winners.json', 'average_heartrate') }} as {{ type_double() }}) as average_heartrate,
        cast({{ json_text('winners.json', 'max_heartrate') }} as {{ type_double() }}) as max_heartrate,
        coalesce({{ tolerant_cast(json_text('winners.json', 'has_heartrate'), 'boolean') }}, false) as has_heartrate,
        cast(cast({{ json_text('winners.json', 'workout_type') }} as {{ type_double() }}) as integer) as workout_type,
        coalesce({{ tolerant_cast(json_text('winners.json', 'manual'), 'boolean') }}, false) as is_manual,
        coalesce({{ tolerant_cast(json_text('winners.json', 'trainer'), 'boolean') }}, false) as is_trainer,
        winners.stream_signature,
        winners.first_seen_at,
        winners.updated_at
    from winners
    cross join fallback_athlete

)

select * from renamed
