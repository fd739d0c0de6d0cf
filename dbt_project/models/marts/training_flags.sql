-- One row per raised flag (METRICS.md section 6), on complete weeks only. `value` and
-- `threshold` follow the table of section 6; thresholds are dbt vars (dbt_project.yml).
-- Messages describe the load or recovery pattern and suggest an action in plain words;
-- they never diagnose overtraining, illness or injury risk.

with

weeks as (

    select * from {{ ref('weekly_training_summary') }}
    where is_complete

),

easy_share_low as (

    select
        athlete_id,
        week_start,
        'easy_share_low' as flag,
        'warning' as severity,
        easy_share as value,
        {{ num_var('easy_share_min') }} as threshold,
        {{ dbt.concat([
            "'Only '", fmt_percent('easy_share'),
            "'% of your running time with heart rate was easy this week (aim for at least '",
            fmt_percent(num_var('easy_share_min')),
            "'%). Slow most runs down to a relaxed, conversational pace and keep the hard efforts for one or two planned sessions.'"
        ]) }} as message
    from weeks
    where easy_min + moderate_min + hard_min >= {{ num_var('easy_share_min_minutes') }}
      and easy_share < {{ num_var('easy_share_min') }}

),

too_many_quality_sessions as (

    select
        athlete_id,
        week_start,
        'too_many_quality_sessions' as flag,
        'warning' as severity,
        cast(quality_sessions as {{ type_double() }}) as value,
        {{ num_var('max_quality_sessions') }} as threshold,
        {{ dbt.concat([
            fmt_integer('quality_sessions'),
            "' of your runs this week were hard sessions (workouts, races or long stretches above easy pace). One or two a week are enough: run the others easy so the hard days count.'"
        ]) }} as message
    from weeks
    where quality_sessions > {{ num_var('max_quality_sessions') }}

),

volume_spike as (

    select
        athlete_id,
        week_start,
        'volume_spike' as flag,
        'warning' as severity,
        volume_change as value,
        {{ num_var('volume_spike') }} as threshold,
        {{ dbt.concat([
            "'Your running volume (km-effort: distance plus climbing) was '", fmt_percent('volume_change'),
            "'% above the average of the four weeks before. Build up in smaller steps and hold a new level for a week or two before adding more.'"
        ]) }} as message
    from weeks
    where volume_change > {{ num_var('volume_spike') }}

),

long_run_spike as (

    select
        athlete_id,
        week_start,
        'long_run_spike' as flag,
        case
            when max_long_run_spike_ratio > {{ num_var('long_run_spike_warning') }} then 'warning'
            else 'info'
        end as severity,
        max_long_run_spike_ratio as value,
        case
            when max_long_run_spike_ratio > {{ num_var('long_run_spike_warning') }} then {{ num_var('long_run_spike_warning') }}
            else {{ num_var('long_run_spike_info') }}
        end as threshold,
        {{ dbt.concat([
            "'One run this week was '", fmt_decimal('max_long_run_spike_ratio'),
            "' times as long as your longest run of the 30 days before it. Lengthen your long runs in smaller steps'",
            "case when max_long_run_spike_ratio > " ~ num_var('long_run_spike_warning') ~ " then ' and keep the days after a big one easy.' else '.' end"
        ]) }} as message
    from weeks
    where max_long_run_spike_ratio > {{ num_var('long_run_spike_info') }}

),

acwr_high as (

    select
        athlete_id,
        week_start,
        'acwr_high' as flag,
        'warning' as severity,
        acwr_end as value,
        {{ num_var('acwr_high') }} as threshold,
        {{ dbt.concat([
            "'Your training load of the last 7 days was '", fmt_decimal('acwr_end'),
            "' times your weekly average of the last 4 weeks. Plan a few easier days so the extra work can sink in.'"
        ]) }} as message
    from weeks
    where acwr_end >= {{ num_var('acwr_high') }}

),

high_monotony as (

    select
        athlete_id,
        week_start,
        'high_monotony' as flag,
        'warning' as severity,
        monotony as value,
        {{ num_var('monotony_high') }} as threshold,
        {{ dbt.concat([
            "'Your days were very alike in load this week (monotony '", fmt_decimal('monotony'),
            "'). Alternate harder and easier days and keep at least one day for rest or easy recovery.'"
        ]) }} as message
    from weeks
    where monotony > {{ num_var('monotony_high') }}

),

no_rest_day as (

    select
        athlete_id,
        week_start,
        'no_rest_day' as flag,
        'warning' as severity,
        cast(rest_days as {{ type_double() }}) as value,
        {{ dbl(1) }} as threshold,
        'You trained on all 7 days this week. Take at least one full rest day each week.' as message
    from weeks
    where rest_days = 0

),

deep_fatigue as (

    select
        athlete_id,
        week_start,
        'deep_fatigue' as flag,
        'warning' as severity,
        cast(fatigue_days as {{ type_double() }}) as value,
        {{ num_var('fatigue_days') }} as threshold,
        {{ dbt.concat([
            "'For '", fmt_integer('fatigue_days'),
            "' days in a row your recent load was far above the level you are used to (fatigue more than '",
            fmt_percent('(-' ~ num_var('fatigue_ratio') ~ ')'),
            "'% above fitness). Ease off for a few days, with easy runs or rest, until you feel fresh again.'"
        ]) }} as message
    from weeks
    where fatigue_days >= {{ num_var('fatigue_days') }}

),

no_strength as (

    select
        athlete_id,
        week_start,
        'no_strength' as flag,
        'info' as severity,
        cast(strength_sessions as {{ type_double() }}) as value,
        {{ dbl(1) }} as threshold,
        'No strength session this week or last week. Add one or two short strength sessions a week.' as message
    from weeks
    where strength_sessions = 0
      and previous_strength_sessions = 0

),

low_consistency as (

    select
        athlete_id,
        week_start,
        'low_consistency' as flag,
        'info' as severity,
        consistency_12w as value,
        {{ num_var('consistency_low') }} as threshold,
        {{ dbt.concat([
            "'You ran at least '", fmt_integer('min_runs_per_week'), "' times a week in only '",
            fmt_integer('consistency_12w * consistency_weeks'), "' of the last '", fmt_integer('consistency_weeks'),
            "' weeks. Regular, shorter runs do more than occasional big weeks: plan fixed days for running.'"
        ]) }} as message
    from weeks
    where consistency_12w < {{ num_var('consistency_low') }}
      and consistency_weeks >= 4

),

hrv_suppressed as (

    select
        athlete_id,
        week_start,
        'hrv_suppressed' as flag,
        'warning' as severity,
        cast(hrv_suppressed_days as {{ type_double() }}) as value,
        {{ num_var('hrv_suppressed_days') }} as threshold,
        {{ dbt.concat([
            "'On '", fmt_integer('hrv_suppressed_days'),
            "' days this week your heart rate variability of the last 7 nights was clearly below your usual range of the two months before. This often means recovery is lagging behind training: keep the next days easy, or rest, until it is back in range.'"
        ]) }} as message
    from weeks
    where hrv_suppressed_days >= {{ num_var('hrv_suppressed_days') }}

),

resting_hr_elevated as (

    select
        athlete_id,
        week_start,
        'resting_hr_elevated' as flag,
        'warning' as severity,
        cast(rhr_elevated_days as {{ type_double() }}) as value,
        {{ num_var('rhr_elevated_days') }} as threshold,
        {{ dbt.concat([
            "'On '", fmt_integer('rhr_elevated_days'),
            "' days this week your resting heart rate was 5 or more beats per minute above your average of the two months before. Take it easy until it settles, and skip hard sessions while you feel run down.'"
        ]) }} as message
    from weeks
    where rhr_elevated_days >= {{ num_var('rhr_elevated_days') }}

),

short_sleep as (

    select
        athlete_id,
        week_start,
        'short_sleep' as flag,
        'info' as severity,
        avg_sleep_min as value,
        {{ num_var('short_sleep_min') }} as threshold,
        {{ dbt.concat([
            "'You slept '", fmt_hours_minutes('avg_sleep_min'), "' a night on average this week ('",
            fmt_integer('sleep_nights'), "' nights recorded), less than '",
            fmt_hours_minutes(num_var('short_sleep_min')),
            "'. Sleep is when training turns into fitness: aim for an earlier bedtime, above all before hard sessions.'"
        ]) }} as message
    from weeks
    where sleep_nights >= {{ num_var('short_sleep_nights') }}
      and avg_sleep_min < {{ num_var('short_sleep_min') }}

),

trained_on_low_readiness as (

    select
        athlete_id,
        week_start,
        'trained_on_low_readiness' as flag,
        'warning' as severity,
        cast(quality_on_low_readiness as {{ type_double() }}) as value,
        {{ num_var('low_readiness_quality_sessions') }} as threshold,
        {{ dbt.concat([
            fmt_integer('quality_on_low_readiness'),
            "' of your hard runs this week fell on a day when your heart rate variability or resting heart rate was off your usual range. On such mornings swap the hard session for an easy run or rest, and do it once your numbers are back to normal.'"
        ]) }} as message
    from weeks
    where quality_on_low_readiness >= {{ num_var('low_readiness_quality_sessions') }}

),

overreaching_components as (

    select athlete_id, week_start, flag, 'a jump in running volume' as label from volume_spike
    union all
    select athlete_id, week_start, flag, 'a sharp rise in load' as label from acwr_high
    union all
    select athlete_id, week_start, flag, 'days all alike' as label from high_monotony
    union all
    select athlete_id, week_start, flag, 'lasting fatigue' as label from deep_fatigue
    union all
    select athlete_id, week_start, flag, 'no rest day' as label from no_rest_day
    union all
    select athlete_id, week_start, flag, 'heart rate variability below normal' as label from hrv_suppressed
    union all
    select athlete_id, week_start, flag, 'a raised resting heart rate' as label from resting_hr_elevated

),

overreaching as (

    select
        athlete_id,
        week_start,
        'overreaching' as flag,
        'alert' as severity,
        cast(count(*) as {{ type_double() }}) as value,
        {{ num_var('overreaching_min_components') }} as threshold,
        {{ dbt.concat([
            fmt_integer('count(*)'),
            "' load and recovery warnings came together this week ('",
            sorted_listagg("label", "', '"),
            "'). Back off: make the coming week clearly easier, with less volume and at least one rest day.'"
        ]) }} as message
    from overreaching_components
    group by athlete_id, week_start
    having count(*) >= {{ num_var('overreaching_min_components') }}

),

unioned as (

    select * from easy_share_low
    union all
    select * from too_many_quality_sessions
    union all
    select * from volume_spike
    union all
    select * from long_run_spike
    union all
    select * from acwr_high
    union all
    select * from high_monotony
    union all
    select * from no_rest_day
    union all
    select * from deep_fatigue
    union all
    select * from no_strength
    union all
    select * from low_consistency
    union all
    select * from hrv_suppressed
    union all
    select * from resting_hr_elevated
    union all
    select * from short_sleep
    union all
    select * from trained_on_low_readiness
    union all
    select * from overreaching

)

select * from unioned
