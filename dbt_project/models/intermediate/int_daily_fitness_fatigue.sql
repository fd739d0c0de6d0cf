-- CTL (fitness, 42-day) and ATL (fatigue, 7-day) per athlete and day, METRICS.md
-- section 4: ctl(d) = ctl(d-1) + (load - ctl(d-1)) / 42, atl likewise with 7, both 0 on
-- the day before the first day. Computed exactly through the block decomposition of
-- macros/exponentially_weighted_load.sql (no (1-a)^-n factors, stable over decades).

with

daily as (

    select * from {{ ref('int_daily_load') }}

),

{{ exponentially_weighted_load_ctes('daily', 'ctl', 42) }},

{{ exponentially_weighted_load_ctes('daily', 'atl', 7) }},

final as (

    select
        daily.athlete_id,
        daily.date_day,
        daily.day_index,
        daily.load,
        ctl.ctl,
        atl.atl
    from daily
    inner join ctl
        on daily.athlete_id = ctl.athlete_id
        and daily.day_index = ctl.day_index
    inner join atl
        on daily.athlete_id = atl.athlete_id
        and daily.day_index = atl.day_index

)

select * from final
