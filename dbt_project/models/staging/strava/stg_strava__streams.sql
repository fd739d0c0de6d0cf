-- One row per stream sample of every landed stream (all sources). Which source's stream
-- an activity uses is decided in intermediate (the source of the winning activity row).

with

source as (

    select * from {{ source('strava', 'streams') }}

),

renamed as (

    select
        source,
        activity_id,
        seq,
        time_s,
        heartrate,
        moving as is_moving,
        distance_m,
        altitude_m,
        velocity_smooth as velocity_m_per_s
    from source

)

select * from renamed
