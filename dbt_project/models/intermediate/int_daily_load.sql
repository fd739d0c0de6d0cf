-- Daily load (METRICS.md section 4): sum of the TRIMP of the day's activities (all
-- categories), 0 on days without activity, on the day spine.

with

days as (

    select * from {{ ref('int_calendar_days') }}

),

activities as (

    select * from {{ ref('int_activities_categorized') }}

),

zones_trimp as (

    select * from {{ ref('int_activity_zones_trimp') }}

),

per_day as (

    select
        activities.athlete_id,
        activities.local_date,
        count(*) as activity_count,
        sum(zones_trimp.trimp) as load
    from activities
    inner join zones_trimp
        on activities.source = zones_trimp.source
        and activities.activity_id = zones_trimp.activity_id
    group by activities.athlete_id, activities.local_date

),

final as (

    select
        days.athlete_id,
        days.date_day,
        days.week_start,
        days.day_index,
        coalesce(per_day.load, {{ dbl(0) }}) as load,
        coalesce(per_day.activity_count, 0) as activity_count
    from days
    left join per_day
        on days.athlete_id = per_day.athlete_id
        and days.date_day = per_day.local_date

)

select * from final
