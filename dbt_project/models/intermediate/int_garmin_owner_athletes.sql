-- Which athlete a Garmin account's rows belong to (METRICS.md section 1): in a one-athlete
-- database, the Strava athlete id when any Strava data is landed, else the Garmin owner id.
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
        cast(coalesce(strava_athlete.athlete_id, owners.owner_id) as bigint) as athlete_id
    from owners
    cross join strava_athlete

)

select * from final
