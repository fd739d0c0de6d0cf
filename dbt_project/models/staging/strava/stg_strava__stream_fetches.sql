-- One row per (source, activity) whose streams were fetched or parsed.

with

source as (

    select * from {{ source('strava', 'stream_fetches') }}

),

renamed as (

    select
        source,
        activity_id,
        stream_signature,
        sample_count,
        fetched_at
    from source

)

select * from renamed
