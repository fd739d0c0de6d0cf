-- One row per Strava activity: the API, bulk-export and device-file landings unified
-- (same activity_id -> the 'api' row wins over 'export' over 'files'), typed and renamed
-- from the raw JSON. An activity whose winning row is marked deleted is left out: a
-- deletion seen upstream by the API beats an older export that still holds it.
-- Only the Strava-shaped landings are read ('garmin' rows of the same raw table are
-- stg_garmin__activities). The same workout under another id (a device file of a Strava
-- activity, a Garmin copy) is resolved in int_activities_unified, so is the athlete of a
-- device file when neither the row nor any Strava landing names one (athlete_id null here).
-- No as-of filter here (that is intermediate's job).
-- A table, not a view like the rest of staging, and each JSON document parsed once for
-- all its fields (json_texts): reading the JSON is the costliest step at scale, and as a
-- view it ran again for int_activities_unified and for every data test below (a club of
-- 1,000 athletes x 5 years: over half of the build's time; scripts/bench_club_build.py).

{{ config(materialized='table') }}

{%- set json_paths = [
    'athlete.id', 'sport_type', 'type', 'name', 'start_date', 'start_date_local', 'moving_time',
    'elapsed_time', 'distance', 'total_elevation_gain', 'average_heartrate', 'max_heartrate',
    'has_heartrate', 'workout_type', 'manual', 'trainer',
] %}

with

-- The Strava-shaped landings. Only the winners below read them whole, JSON included: the
-- ranking and the fallback athlete read their few key columns from the source themselves,
-- since a CTE read in two places is materialized whole (JSON and all: on a large club
-- twice the time and memory of the JSON read once).
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
            (
                select min(landings.athlete_id)
                from {{ source('strava', 'activities') }} as landings
                where landings.source in ('api', 'export', 'files')
                  and landings.athlete_id <> 0
            )
        ) as athlete_id

),

-- per activity id, the landing whose values win: api, then export, then files
ranked as (

    select
        landings.source,
        landings.activity_id,
        landings.deleted_at,
        row_number() over (
            partition by landings.activity_id
            order by
                case landings.source
                    when 'api' then 1
                    when 'export' then 2
                    when 'files' then 3
                    else 4
                end,
                landings.updated_at desc
        ) as source_rank
    from {{ source('strava', 'activities') }} as landings
    where landings.source in ('api', 'export', 'files')

),

-- (source, activity_id) is the raw table's primary key: one landed row per ranked row
winners as (

    select
        source.*,
        {{ json_texts('source.json', json_paths) }} as json_values
    from source
    inner join ranked
        on source.source = ranked.source
        and source.activity_id = ranked.activity_id
    where ranked.source_rank = 1
      and ranked.deleted_at is null

),

renamed as (

    select
        winners.activity_id,
        cast(coalesce(
            nullif(winners.athlete_id, 0),
            nullif(cast({{ json_texts_get('winners.json_values', json_paths, 'athlete.id') }} as bigint), 0),
            fallback_athlete.athlete_id
        ) as bigint) as athlete_id,
        winners.source,
        -- the string exactly as Strava sent it; stravalib would have rewritten unknown types
        coalesce(
            nullif({{ json_texts_get('winners.json_values', json_paths, 'sport_type') }}, ''),
            nullif({{ json_texts_get('winners.json_values', json_paths, 'type') }}, '')
        ) as sport_type,
        {{ json_texts_get('winners.json_values', json_paths, 'name') }} as activity_name,
        {{ iso_text_to_timestamp(json_texts_get('winners.json_values', json_paths, 'start_date')) }} as start_date_utc,
        -- local wall time; Strava labels it Z but it is not UTC
        {{ iso_text_to_timestamp(json_texts_get('winners.json_values', json_paths, 'start_date_local')) }} as start_date_local,
        cast({{ json_texts_get('winners.json_values', json_paths, 'moving_time') }} as {{ type_double() }}) as moving_time_s,
        cast({{ json_texts_get('winners.json_values', json_paths, 'elapsed_time') }} as {{ type_double() }}) as elapsed_time_s,
        cast({{ json_texts_get('winners.json_values', json_paths, 'distance') }} as {{ type_double() }}) as distance_m,
        cast({{ json_texts_get('winners.json_values', json_paths, 'total_elevation_gain') }} as {{ type_double() }}) as elevation_gain_m,
        cast({{ json_texts_get('winners.json_values', json_paths, 'average_heartrate') }} as {{ type_double() }}) as average_heartrate,
        cast({{ json_texts_get('winners.json_values', json_paths, 'max_heartrate') }} as {{ type_double() }}) as max_heartrate,
        coalesce({{ tolerant_cast(json_texts_get('winners.json_values', json_paths, 'has_heartrate'), 'boolean') }}, false) as has_heartrate,
        cast(cast({{ json_texts_get('winners.json_values', json_paths, 'workout_type') }} as {{ type_double() }}) as integer) as workout_type,
        coalesce({{ tolerant_cast(json_texts_get('winners.json_values', json_paths, 'manual'), 'boolean') }}, false) as is_manual,
        coalesce({{ tolerant_cast(json_texts_get('winners.json_values', json_paths, 'trainer'), 'boolean') }}, false) as is_trainer,
        winners.stream_signature,
        winners.first_seen_at,
        winners.updated_at
    from winners
    cross join fallback_athlete

)

select * from renamed
