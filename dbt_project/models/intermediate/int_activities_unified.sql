-- Every source's activities in one list, each workout counted once (METRICS.md section 1):
--   * Strava's API, bulk-export and device-file landings (stg_strava__activities: for the
--     same Strava activity id the API row already beat the export's) and Garmin Connect's
--     (stg_garmin__activities), with the same columns.
--   * The athlete: a Garmin row counts for its account's athlete (int_garmin_owner_athletes:
--     the Strava athlete when any Strava data is landed, else the owner id); so does a
--     device file landed under a Garmin owner id. A device file with no athlete anywhere
--     on the Strava side falls back to the Garmin account's athlete, else to athlete 0.
--   * The same workout from two sources (same athlete, UTC starts at most 60 s apart)
--     counts once: a row is left out when a row of a better source starts within 60 s of
--     it, the order being Strava API, Strava export, Garmin, device files. Rows of one
--     source never merge (two activities the platform itself holds apart stay two).
--     Deleted activities are already gone, so they hide nothing.
-- Streams are joined later on (source, activity_id), so only the kept row's own stream is used.

with

strava as (

    select * from {{ ref('stg_strava__activities') }}

),

garmin as (

    select * from {{ ref('stg_garmin__activities') }}

),

owner_athletes as (

    select * from {{ ref('int_garmin_owner_athletes') }}

),

unioned as (

    select
        activity_id, athlete_id, source, sport_type, activity_name, start_date_utc,
        start_date_local, moving_time_s, elapsed_time_s, distance_m, elevation_gain_m,
        average_heartrate, max_heartrate, has_heartrate, workout_type, is_manual, is_trainer,
        stream_signature, first_seen_at, updated_at
    from strava

    union all

    select
        activity_id, athlete_id, source, sport_type, activity_name, start_date_utc,
        start_date_local, moving_time_s, elapsed_time_s, distance_m, elevation_gain_m,
        average_heartrate, max_heartrate, has_heartrate, workout_type, is_manual, is_trainer,
        stream_signature, first_seen_at, updated_at
    from garmin

),

-- nothing on the Strava side names an athlete: the Garmin account's (a Garmin-only database)
fallback_athlete as (

    select
        coalesce(
            (select min(owner_athletes.athlete_id) from owner_athletes),
            cast(0 as bigint)
        ) as athlete_id

),

attributed as (

    select
        unioned.activity_id,
        cast(coalesce(
            owner_athletes.athlete_id,
            unioned.athlete_id,
            fallback_athlete.athlete_id
        ) as bigint) as athlete_id,
        unioned.source,
        unioned.sport_type,
        unioned.activity_name,
        unioned.start_date_utc,
        unioned.start_date_local,
        unioned.moving_time_s,
        unioned.elapsed_time_s,
        unioned.distance_m,
        unioned.elevation_gain_m,
        unioned.average_heartrate,
        unioned.max_heartrate,
        unioned.has_heartrate,
        unioned.workout_type,
        unioned.is_manual,
        unioned.is_trainer,
        unioned.stream_signature,
        unioned.first_seen_at,
        unioned.updated_at,
        case unioned.source
            when 'api' then 1
            when 'export' then 2
            when 'garmin' then 3
            else 4
        end as source_priority
    from unioned
    left join owner_athletes
        on unioned.source in ('garmin', 'files')
        and unioned.athlete_id = owner_athletes.owner_id
    cross join fallback_athlete

),

-- UTC start in whole seconds (the start times carry no fractions), for a range window
timed as (

    select
        attributed.*,
        {{ dbt.datediff("cast('1970-01-01 00:00:00' as timestamp)", 'attributed.start_date_utc', 'second') }}
            as start_epoch_s
    from attributed

),

-- the best source among the athlete's rows starting at most 60 s before or after this
-- one (itself included): a window, so no self-join over all pairs of an athlete's rows
neighbourhood as (

    select
        timed.*,
        min(timed.source_priority) over (
            partition by timed.athlete_id
            order by timed.start_epoch_s
            range between 60 preceding and 60 following
        ) as best_priority_within_60s
    from timed

),

deduplicated as (

    select * from neighbourhood
    where start_epoch_s is null
        or best_priority_within_60s = source_priority

),

final as (

    select
        activity_id,
        athlete_id,
        source,
        sport_type,
        activity_name,
        start_date_utc,
        start_date_local,
        moving_time_s,
        elapsed_time_s,
        distance_m,
        elevation_gain_m,
        average_heartrate,
        max_heartrate,
        has_heartrate,
        workout_type,
        is_manual,
        is_trainer,
        stream_signature,
        first_seen_at,
        updated_at,
        source_priority
    from deduplicated

)

select * from final
