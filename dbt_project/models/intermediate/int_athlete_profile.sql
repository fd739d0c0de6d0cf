-- One row per athlete with activities in scope: the first day (Monday of the week of the
-- first activity) and the heart-rate profile of METRICS.md section 1.
--   hr_max : configured, else max of max_heartrate (> 0) over local_date in
--            [as-of - 364, as-of], else 190
--   hr_rest: configured (default 60)
--   lthr   : configured, else 0.89 x hr_max rounded half up (floor(v + 0.5), in double)
--   sex    : configured F/M, else unspecified; TRIMP (k, b) = (0.86, 1.67) for F, else (0.64, 1.92)

with

activities as (

    select * from {{ ref('int_activities_categorized') }}

),

configured as (

    select
        {{ profile_number('hr_max', 'ATHLETE_HR_MAX') }} as hr_max,
        {{ profile_number('hr_rest', 'ATHLETE_HR_REST') }} as hr_rest,
        {{ profile_number('lthr', 'ATHLETE_LTHR') }} as lthr,
        {{ athlete_sex() }} as sex

),

per_athlete as (

    select
        athlete_id,
        min(local_date) as first_activity_date,
        max(
            case
                when local_date >= cast({{ dbt.dateadd('day', -364, as_of_date()) }} as date)
                    and max_heartrate > 0
                    then max_heartrate
            end
        ) as observed_hr_max
    from activities
    group by athlete_id

),

hr_max_resolved as (

    select
        per_athlete.athlete_id,
        per_athlete.first_activity_date,
        cast({{ dbt.date_trunc('week', 'per_athlete.first_activity_date') }} as date) as first_day,
        coalesce(configured.hr_max, per_athlete.observed_hr_max, {{ dbl(190) }}) as hr_max,
        case
            when configured.hr_max is not null then 'config'
            when per_athlete.observed_hr_max is not null then 'derived'
            else 'default'
        end as hr_max_source,
        coalesce(configured.hr_rest, {{ dbl(60) }}) as hr_rest,
        configured.lthr as configured_lthr,
        configured.sex
    from per_athlete
    cross join configured

),

final as (

    select
        athlete_id,
        first_activity_date,
        first_day,
        hr_max,
        hr_max_source,
        hr_rest,
        coalesce(configured_lthr, floor({{ dbl('0.89') }} * hr_max + {{ dbl('0.5') }})) as lthr,
        case when configured_lthr is not null then 'config' else 'derived' end as lthr_source,
        sex,
        case when sex = 'F' then {{ dbl('0.86') }} else {{ dbl('0.64') }} end as trimp_k,
        case when sex = 'F' then {{ dbl('1.67') }} else {{ dbl('1.92') }} end as trimp_b
    from hr_max_resolved

)

select * from final
