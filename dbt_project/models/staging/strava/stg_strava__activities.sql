-- One row per Strava activity: the API, bulk-export and device-file landings unified
-- (same activity_id -> the 'api' row wins over 'export' over 'files'), typed and renamed
-- from the raw JSON. An activity whose winning row is marked deleted is left out: a
-- deletion seen upstream by the API beats an older export that still holds it.
-- A device-file row that duplicates a Strava activity (same start within 60 s) is dropped.
-- No as-of filter here (that is intermediate's job).

with

source as (

    select * from {{ source('strava', 'activities') }}

),

athletes as (

    select * from {{ source('strava', 'athlete') }}

),

-- Rows landed without an athlete id (device files) belong to the synced athlete, else to
-- the lowest athlete id seen in the landing, else to athlete 0.
fallback_athlete as (

    select
        coalesce(
            (select min(athletes.athlete_id) from athletes),
            (select min(source.athlete_id) from source),
            cast(0 as bigint)
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
            winners.athlete_id,
            cast({{ json_text('winners.json', 'athlete.id') }} as bigint),
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

),

-- A watch file of an activity that Strava also has (API or export) is the same activity,
-- under another id: the device-file row goes when a Strava row of the same athlete starts
-- within 60 seconds of it (a device file's id is a content hash, never the Strava id).
strava_starts as (

    select athlete_id, start_date_utc from renamed where source <> 'files'

),

deduplicated as (

    select renamed.*
    from renamed
    where renamed.source <> 'files'
        or not exists (
            select 1
            from strava_starts
            where strava_starts.athlete_id = renamed.athlete_id
                and strava_starts.start_date_utc
                    between {{ dbt.dateadd('second', -60, 'renamed.start_date_utc') }}
                    and {{ dbt.dateadd('second', 60, 'renamed.start_date_utc') }}
        )

)

select * from deduplicated
