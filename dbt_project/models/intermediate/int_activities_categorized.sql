-- Activities in scope (local_date <= as-of date), with their category (seed
-- sport_type_categories, Strava sport_types and Garmin typeKeys; unknown types -> other)
-- and the units of METRICS.md section 3. One row per workout: every source's activities,
-- each counted once (int_activities_unified).

with

activities as (

    select * from {{ ref('int_activities_unified') }}

),

sport_type_categories as (

    select * from {{ ref('sport_type_categories') }}

),

fallback_rates as (

    select * from {{ ref('category_fallback_rates') }}

),

dated as (

    select
        activities.*,
        cast(activities.start_date_local as date) as local_date
    from activities

),

in_scope as (

    select * from dated
    where local_date <= {{ as_of_date() }}

),

categorized as (

    select
        in_scope.activity_id,
        in_scope.athlete_id,
        in_scope.source,
        in_scope.sport_type,
        coalesce(sport_type_categories.category, 'other') as category,
        in_scope.activity_name,
        in_scope.start_date_utc,
        in_scope.start_date_local,
        in_scope.local_date,
        cast({{ dbt.date_trunc('week', 'in_scope.local_date') }} as date) as week_start,
        coalesce(in_scope.distance_m, 0) / 1000 as distance_km,
        coalesce(in_scope.moving_time_s, 0) / 60 as moving_min,
        in_scope.elapsed_time_s / 60 as elapsed_min,
        coalesce(in_scope.elevation_gain_m, 0) as elevation_gain_m,
        in_scope.average_heartrate,
        in_scope.max_heartrate,
        in_scope.has_heartrate,
        in_scope.workout_type,
        in_scope.is_manual,
        in_scope.is_trainer,
        coalesce(fallback_rates.fallback_trimp_per_min, {{ dbl('0.5') }}) as fallback_trimp_per_min
    from in_scope
    left join sport_type_categories
        on in_scope.sport_type = sport_type_categories.sport_type
    left join fallback_rates
        on coalesce(sport_type_categories.category, 'other') = fallback_rates.category

)

select * from categorized
