-- One row per athlete with activities in scope: the first day (Monday of the week of the
-- first activity) and the profile of METRICS.md section 1.
-- "Configured" = the athlete's own row of raw.athlete_profiles, else the default row
-- (athlete_id null), else nothing; a null value of the row chosen is not configured.
--   hr_max : configured, else max of max_heartrate (> 0) over local_date in
--            [as-of - 364, as-of], else 190
--   hr_rest: configured, else 60
--   lthr   : configured, else 0.89 x hr_max rounded half up (floor(v + 0.5), in double)
--   sex    : configured F/M, else unspecified; TRIMP (k, b) = (0.86, 1.67) for F, else (0.64, 1.92)
--   min_runs_per_week: configured, else 3

with

activities as (

    select * from {{ ref('int_activities_categorized') }}

),

-- the profile rows, the latest first when a key repeats (pipelines/profiles.py writes one each)
profile_rows as (

    select
        athlete_id,
        cast(hr_max as {{ type_double() }}) as hr_max,
        cast(hr_rest as {{ type_double() }}) as hr_rest,
        cast(lthr as {{ type_double() }}) as lthr,
        case
            when lower(trim(sex)) in ('f', 'female') then 'F'
            when lower(trim(sex)) in ('m', 'male') then 'M'
        end as sex,
        cast(min_runs_per_week as integer) as min_runs_per_week,
        row_number() over (partition by athlete_id order by updated_at desc) as recency
    from {{ source('trainsmart', 'athlete_profiles') }}

),

own_rows as (

    select * from profile_rows
    where athlete_id is not null and recency = 1

),

default_row as (

    select * from profile_rows
    where athlete_id is null and recency = 1

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

-- the athlete's own row, else the default row (whole rows: values never mix)
configured as (

    select
        per_athlete.athlete_id,
        case when own_rows.athlete_id is not null then own_rows.hr_max else default_row.hr_max end as hr_max,
        case when own_rows.athlete_id is not null then own_rows.hr_rest else default_row.hr_rest end as hr_rest,
        case when own_rows.athlete_id is not null then own_rows.lthr else default_row.lthr end as lthr,
        case when own_rows.athlete_id is not null then own_rows.sex else default_row.sex end as sex,
        case
            when own_rows.athlete_id is not null then own_rows.min_runs_per_week
            else default_row.min_runs_per_week
        end as min_runs_per_week
    from per_athlete
    left join own_rows
        on per_athlete.athlete_id = own_rows.athlete_id
    left join default_row
        on 1 = 1

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
        configured.sex,
        coalesce(configured.min_runs_per_week, 3) as min_runs_per_week
    from per_athlete
    inner join configured
        on per_athlete.athlete_id = configured.athlete_id

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
        case when sex = 'F' then {{ dbl('1.67') }} else {{ dbl('1.92') }} end as trimp_b,
        min_runs_per_week
    from hr_max_resolved

)

select * from final
