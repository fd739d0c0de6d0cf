-- Time in zones and Banister TRIMP per activity (METRICS.md section 3), by the first
-- method that applies:
--   'stream'       : the activity has an HR stream (>= 1 counted interval): minutes per
--                    zone = sum of counted dt_i / 60; unclassified = max(0, moving_min -
--                    easy - moderate - hard); trimp = sum of (dt_i / 60) * weight(x_i)
--   'average_hr'   : average_heartrate > 0: all of moving_min in the zone of the average;
--                    trimp = moving_min * weight(x_avg)
--   'category_rate': all of moving_min unclassified; trimp = moving_min x the category's
--                    fallback rate (seed category_fallback_rates)
-- weight(x) = x * k * exp(b * x), x = clamp((hr - hr_rest) / (hr_max - hr_rest), 0, 1).

with

activities as (

    select * from {{ ref('int_activities_categorized') }}

),

intervals as (

    select * from {{ ref('int_activity_stream_intervals') }}

),

profiles as (

    select * from {{ ref('int_athlete_profile') }}

),

stream_totals as (

    select
        source,
        activity_id,
        count(*) as counted_intervals,
        cast(sum(case when hr_zone = 'easy' then dt_s else 0 end) as {{ type_double() }}) / 60 as easy_min,
        cast(sum(case when hr_zone = 'moderate' then dt_s else 0 end) as {{ type_double() }}) / 60 as moderate_min,
        cast(sum(case when hr_zone = 'hard' then dt_s else 0 end) as {{ type_double() }}) / 60 as hard_min,
        sum(trimp) as trimp
    from intervals
    group by source, activity_id

),

joined as (

    select
        activities.source,
        activities.activity_id,
        activities.athlete_id,
        activities.moving_min,
        activities.average_heartrate,
        activities.fallback_trimp_per_min,
        profiles.hr_rest,
        profiles.hr_max,
        profiles.lthr,
        profiles.trimp_k,
        profiles.trimp_b,
        coalesce(stream_totals.counted_intervals, 0) as counted_intervals,
        stream_totals.easy_min as stream_easy_min,
        stream_totals.moderate_min as stream_moderate_min,
        stream_totals.hard_min as stream_hard_min,
        stream_totals.trimp as stream_trimp,
        case
            when stream_totals.counted_intervals > 0 then 'stream'
            when activities.average_heartrate > 0 then 'average_hr'
            else 'category_rate'
        end as load_method
    from activities
    inner join profiles
        on activities.athlete_id = profiles.athlete_id
    left join stream_totals
        on activities.source = stream_totals.source
        and activities.activity_id = stream_totals.activity_id

),

average_hr as (

    select
        joined.*,
        case
            when load_method = 'average_hr'
                then {{ hr_zone('average_heartrate', 'lthr') }}
        end as average_hr_zone,
        case
            when load_method = 'average_hr'
                then {{ hr_reserve_fraction('average_heartrate', 'hr_rest', 'hr_max') }}
        end as average_hr_reserve_fraction
    from joined

),

final as (

    select
        source,
        activity_id,
        athlete_id,
        load_method,
        counted_intervals,
        average_hr_zone,
        case load_method
            when 'stream' then stream_easy_min
            when 'average_hr' then case when average_hr_zone = 'easy' then moving_min else 0 end
            else 0
        end as easy_min,
        case load_method
            when 'stream' then stream_moderate_min
            when 'average_hr' then case when average_hr_zone = 'moderate' then moving_min else 0 end
            else 0
        end as moderate_min,
        case load_method
            when 'stream' then stream_hard_min
            when 'average_hr' then case when average_hr_zone = 'hard' then moving_min else 0 end
            else 0
        end as hard_min,
        case load_method
            when 'stream' then greatest(
                {{ dbl(0) }},
                moving_min - stream_easy_min - stream_moderate_min - stream_hard_min
            )
            when 'average_hr' then 0
            else moving_min
        end as unclassified_min,
        case load_method
            when 'stream' then stream_trimp
            when 'average_hr' then moving_min * {{ trimp_weight('average_hr_reserve_fraction', 'trimp_k', 'trimp_b') }}
            else moving_min * fallback_trimp_per_min
        end as trimp
    from average_hr

)

select * from final
