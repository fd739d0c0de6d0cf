-- The synced athlete (Strava DetailedAthlete), typed. Strava's own `sex` is kept for
-- information only: the TRIMP constants use the configured sex (METRICS.md 1).

with

source as (

    select * from {{ source('strava', 'athlete') }}

),

renamed as (

    select
        athlete_id,
        {{ json_text('json', 'firstname') }} as first_name,
        {{ json_text('json', 'lastname') }} as last_name,
        {{ json_text('json', 'sex') }} as strava_sex,
        {{ json_text('json', 'city') }} as city,
        {{ json_text('json', 'country') }} as country,
        cast({{ json_text('json', 'weight') }} as {{ type_double() }}) as weight_kg,
        fetched_at
    from source

)

select * from renamed
