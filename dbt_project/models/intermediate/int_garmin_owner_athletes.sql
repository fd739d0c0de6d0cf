-- Which athlete a Garmin account's rows belong to (METRICS.md section 1): in a one-athlete
-- database, the Strava athlete id when any Strava data is landed, else the Garmin owner id.
-- In a club (a roster: raw.athlete_profiles has athletes' own rows), the roster athlete
-- whose profile row names that Garmin account (their Strava id, else their Garmin id), and
-- an account no roster athlete names counts as an athlete of its own.
-- One row per Garmin owner seen in the activity or wellness landings.

with

strava_athletes as (

    select athlete_id from {{ source('strava', 'athlete') }}

),

strava_activities as (

    select athlete_id
    from {{ source('strava', 'activities') }}
    where source in ('api', 'export') and athlete_id is not null

),

strava_athlete as (

    select
        coalesce(
            (select min(strava_athletes.athlete_id) from strava_athletes),
            (select min(strava_activities.athlete_id) from strava_activities)
        ) as athlete_id

),

roster_owners as (

    select garmin_owner_id as owner_id, min(athlete_id) as athlete_id
    from {{ source('trainsmart', 'athlete_profiles') }}
    where garmin_owner_id is not null and athlete_id is not null
    group by garmin_owner_id

),

roster as (

    select count(*) > 0 as is_club
    from {{ source('trainsmart', 'athlete_profiles') }}
    where athlete_id is not null

),

owners as (

    select athlete_id as owner_id
    from {{ source('garmin', 'activities') }}
    where source = 'garmin' and athlete_id is not null

    union

    select owner_id from {{ source('garmin', 'wellness') }}

),

final as (

    select
        owners.owner_id,
        cast(
            coalesce(
                roster_owners.athlete_id,
                case when roster.is_club then owners.owner_id end,
                strava_athlete.athlete_id,
                owners.owner_id
            ) as bigint
        ) as athlete_id
    from owners
    left join roster_owners on roster_owners.owner_id = owners.owner_id
    cross join strava_athlete
    cross join roster

)

select * from final
