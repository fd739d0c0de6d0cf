-- One row per athlete per calendar day from the first day to the as-of date (METRICS.md
-- section 4): load, CTL / ATL / TSB (Coggan PMC) and the rolling-average ACWR
-- (Hulin & Gabbett 2016; a number to read, not an injury prediction).

with

fitness_fatigue as (

    select * from {{ ref('int_daily_fitness_fatigue') }}

),

daily_load as (

    select * from {{ ref('int_daily_load') }}

),

rolling as (

    select
        fitness_fatigue.athlete_id,
        fitness_fatigue.date_day,
        fitness_fatigue.day_index,
        fitness_fatigue.load,
        fitness_fatigue.ctl,
        fitness_fatigue.atl,
        sum(fitness_fatigue.load) over (
            partition by fitness_fatigue.athlete_id
            order by fitness_fatigue.day_index
            rows between 6 preceding and current row
        ) as acute_7d,
        sum(fitness_fatigue.load) over (
            partition by fitness_fatigue.athlete_id
            order by fitness_fatigue.day_index
            rows between 27 preceding and current row
        ) / 4 as chronic_28d
    from fitness_fatigue

),

final as (

    select
        rolling.athlete_id,
        rolling.date_day as date,
        rolling.load,
        rolling.ctl,
        rolling.atl,
        rolling.ctl - rolling.atl as tsb,
        rolling.acute_7d,
        rolling.chronic_28d,
        case
            when rolling.day_index >= 27 and rolling.chronic_28d <> 0
                then rolling.acute_7d / rolling.chronic_28d
        end as acwr,
        -- extras
        daily_load.week_start,
        rolling.day_index,
        daily_load.activity_count
    from rolling
    inner join daily_load
        on rolling.athlete_id = daily_load.athlete_id
        and rolling.day_index = daily_load.day_index

)

select * from final
