-- The athlete's Strava heart-rate zones (information only; the models use LTHR zones).

with

source as (

    select * from {{ source('strava', 'athlete_zones') }}

),

renamed as (

    select
        athlete_id,
        cast({{ json_text('json', 'heart_rate.custom_zones') }} as boolean) as has_custom_hr_zones,
        {{ json_text('json', 'heart_rate.zones') }} as hr_zones_json,
        fetched_at
    from source

)

select * from renamed
