"""A generated running club, written straight into a DuckDB file's raw tables by SQL.

For scale benchmarks (scripts/bench_club_build.py): 1,000 athletes x 5 years is about
1.2 million activities, which the per-activity Python of sample_athlete.py and the
landing functions would take hours to write. Here DuckDB generates everything in a few
set-based statements, deterministically from (seed, athlete, day) hashes, into the same
raw tables (pipelines/warehouse.py RAW_DDL, primary keys included) a Strava sync fills:

* ``raw.athlete`` (one DetailedAthlete-shaped JSON per athlete), ``raw.athlete_zones``;
* ``raw.athlete_profiles``: one row per roster athlete, with varied profiles (sex F / M /
  unspecified; hr_max, hr_rest, lthr, min_runs_per_week each configured for some athletes
  and left to METRICS.md's derivation or default for the others); a few athletes have no
  row (not yet in the roster: METRICS.md defaults);
* ``raw.activities`` (source 'api'): Strava SummaryActivity JSON with every field the
  staging models read and the usual others (map polyline, gear, kudos...), about 1.3 KB
  each like the sample athlete's. Each athlete has habits of their own: runs a week (2-7)
  on preferred weekdays, a long run at the weekend, 0-2 workouts, a few races a year,
  strength (0-2 a week) and cross-training (rides, hikes, walks, swims, yoga...),
  seasonal volume, recovery weeks, empty weeks (illness, holiday), some athletes who
  run their easy runs too hard, some without a heart-rate sensor, manual entries,
  trainer runs, a few deleted activities, athletes joining the club later;
* for some athletes (``export_share``) their activities older than a year landed a second
  time from a bulk export (source 'export', same ids: the API row wins in staging);
* for the athletes with a Garmin account (``garmin_share``, roster athletes whose profile row
  names it in ``garmin_owner_id``): ``raw.garmin_wellness`` every day (overnight HRV, sleep,
  the daily summary with the resting heart rate; now and then a strained week), and a
  Garmin Connect copy (source 'garmin', Garmin's activity-list JSON) of each of their
  activities, which the models count once (the Strava row wins);
* ``raw.streams`` and ``raw.stream_fetches``: HR streams (time, heartrate, moving,
  distance, altitude, velocity) of the activities with heart rate whose local date is in
  the last ``stream_weeks`` weeks (None: all of them), sampled every ``sample_seconds`` on
  average with jitter, like a watch's smart recording (5 s; 1 = every-second recording):
  a warm-up ramp, workouts alternating hard and easy, drift, noise, an auto-pause (gap >
  30 s) in a third of them, strap dropouts (null HR) and zero readings at the start.

``add_day`` lands one more day of activities (streams, Garmin copies and wellness too), as a
nightly sync would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

ATHLETE_ID_BASE = 50_000_000
ACTIVITY_ID_BASE = 15_000_000_000
GARMIN_OWNER_BASE = 80_000_000
GARMIN_ACTIVITY_ID_BASE = 21_000_000_000
# Strava sport_type -> Garmin typeKey (the seed maps both to the same category)
GARMIN_TYPES = {
    "Run": "running", "TrailRun": "trail_running", "VirtualRun": "treadmill_running",
    "WeightTraining": "strength_training", "Crossfit": "strength_training", "Yoga": "yoga",
    "Pilates": "pilates", "Ride": "road_biking", "GravelRide": "gravel_cycling",
    "VirtualRide": "virtual_ride", "Hike": "hiking", "Walk": "walking", "Swim": "lap_swimming",
    "Elliptical": "elliptical", "Rowing": "indoor_rowing", "Snowshoe": "snow_shoe_ws", "Workout": "fitness_equipment",
}


@dataclass(frozen=True)
class ClubSpec:
    athletes: int = 1000
    years: float = 5.0
    end_date: dt.date = dt.date(2026, 11, 22)
    stream_weeks: int | None = 12  # streams for the last N weeks' HR activities; None = all
    sample_seconds: int = 5  # mean interval between stream samples
    export_share: float = 0.1  # share of athletes whose older history also came from a bulk export
    garmin_share: float = 0.3  # share of athletes with a Garmin account: wellness and activity copies
    seed: int = 7

    @property
    def first_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=round(self.years * 365.25) - 1)


def _u(seed: int, tag: str, *keys: str) -> str:
    """SQL: a deterministic uniform number in [0, 1) from the seed, a tag and key expressions."""
    return f"((hash({seed}, '{tag}', {', '.join(keys)}) % 1000003)::double / 1000003)"


def _athletes_sql(spec: ClubSpec) -> str:
    """One row per athlete with their true physiology, habits and roster profile."""
    s = spec.seed
    span = (spec.end_date - spec.first_date).days

    def u(tag: str) -> str:
        return _u(s, tag, "i")

    return f"""
    select
        i as athlete_index,
        {ATHLETE_ID_BASE} + i as athlete_id,
        case when {u('sex')} < 0.45 then 'F' when {u('sex')} < 0.92 then 'M' end as sex,
        (166 + floor({u('hrmax')} * 32))::integer as true_hr_max,
        (40 + floor({u('hrrest')} * 24))::integer as true_hr_rest,
        -- habits
        [2, 3, 3, 4, 4, 4, 5, 5, 6, 7][1 + floor({u('runs')} * 10)::integer] as runs_per_week,
        [0, 0, 1, 1, 1, 2][1 + floor({u('strength')} * 6)::integer] as strength_per_week,
        [0, 0.5, 1, 1, 2][1 + floor({u('cross')} * 5)::integer] as cross_per_week,
        [0, 1, 1, 2][1 + floor({u('quality')} * 4)::integer] as quality_per_week,
        floor({u('races')} * 8)::integer as races_per_year,
        2.45 + 1.15 * {u('speed')} as easy_speed,               -- m/s
        30 + 30 * {u('easymin')} as easy_minutes,
        3 + 35 * {u('hills')} * {u('hills')} as climb_m_per_km,
        case when {u('bias')} < 0.2 then 0.08 + 0.06 * {u('bias2')} else 0 end as easy_bias,  -- runs easy days too hard
        {u('hrdev')} >= 0.08 as has_hr_sensor,
        case when {u('longday')} < 0.75 then 0 else 6 end as long_dow,                   -- Sunday or Saturday
        [6.25, 7.0, 12.25, 17.5, 18.5][1 + floor({u('hour')} * 5)::integer] as run_hour,
        [-8, -7, -6, -5, -3, 0, 0, 1, 1, 1, 2, 3, 5.5, 8, 9, 10][1 + floor({u('tz')} * 16)::integer] as utc_offset_h,
        floor({u('phase')} * 4)::integer as cycle_phase,
        -- most have the whole history, some joined the club later
        date '{spec.first_date.isoformat()}' + (case when {u('join')} < 0.8 then 0
            else floor({u('join2')} * {span} * 0.85) end)::integer as first_date,
        {u('export')} < {spec.export_share} as has_export,
        case when {u('garmin')} < {spec.garmin_share} and {u('p_row')} >= 0.03 then {GARMIN_OWNER_BASE} + i end
            as garmin_owner_id,
        35 + 55 * {u('hrv')} as hrv_base_ms,
        400 + 80 * {u('sleep')} as sleep_base_min,
        -- roster profile: each value configured for some athletes only
        {u('p_row')} >= 0.03 as in_roster,
        {u('p_hrmax')} < 0.6 as cfg_hr_max,
        {u('p_hrrest')} < 0.7 as cfg_hr_rest,
        {u('p_lthr')} < 0.3 as cfg_lthr,
        {u('p_sex')} < 0.9 as cfg_sex,
        case when {u('p_minruns')} < 0.5 then [2, 3, 3, 4, 5][1 + floor({u('minruns')} * 5)::integer] end as cfg_min_runs
    from range({spec.athletes}) as t(i)
    """


def _generated_sessions_sql(spec: ClubSpec, first_day: dt.date, last_day: dt.date) -> str:
    """Sessions (runs, strength, cross-training) with their Strava fields, no ids yet."""
    s = spec.seed

    def u(tag: str) -> str:
        return _u(s, tag, "athlete_id", "day", "slot")

    dow_weight = "[1.4, 0.55, 1.1, 1.0, 1.1, 0.65, 1.2][dow + 1]"  # Sunday .. Saturday, sums to 7
    return f"""
    with
    days as (
        select
            a.*,
            d.day,
            dayofweek(d.day) as dow,  -- 0 Sunday .. 6 Saturday
            {_u(s, 'week', 'a.athlete_id', "date_trunc('week', d.day)")} as u_week,
            ((datediff('day', date '2000-01-03', d.day) // 7) + a.cycle_phase) % 4 as cycle_week,
            1 + 0.15 * cos(2 * pi() * (dayofyear(d.day) - 200) / 365.25) as season
        from ({_athletes_sql(spec)}) as a
        cross join (
            select cast(unnest(generate_series(timestamp '{first_day}', timestamp '{last_day}', interval 1 day)) as date) as day
        ) as d
        where d.day >= a.first_date
    ),
    -- empty weeks (illness, holiday: 3.5 %) drop out; every 4th week is a lighter one
    active_days as (
        select *, case when cycle_week = 3 then 0.75 else 1.0 end as week_factor
        from days
        where u_week >= 0.035
    ),
    slots as (
        select *, 'run' as slot,
            least(0.97, runs_per_week / 7.0 * {dow_weight} * week_factor
                  * case when dow = long_dow then 2.0 else 1.0 end) as p
        from active_days
        union all
        select *, 'strength' as slot,
            case when dow = long_dow then 0 else strength_per_week / 6.0 * week_factor end as p
        from active_days
        union all
        select *, 'cross' as slot,
            cross_per_week / 7.0 * case when dow in (0, 6) then 2.0 else 0.6 end as p
        from active_days
    ),
    chosen as (
        select *,
            {u('r1')} as r1, {u('r2')} as r2, {u('r3')} as r3, {u('r4')} as r4, {u('r5')} as r5
        from slots
        where {u('take')} < p
    ),
    kinds as (
        select *,
            case slot
                when 'run' then case
                    when dow = long_dow and r1 < races_per_year / 52.0 then 'race'
                    when dow = long_dow and r1 < 0.85 then 'long'
                    when (dow = 2 and quality_per_week >= 1) or (dow = 4 and quality_per_week >= 2)
                        then case when r1 < 0.8 then 'workout' else 'easy' end
                    else 'easy' end
                when 'strength' then case
                    when r1 < 0.75 then 'WeightTraining' when r1 < 0.85 then 'Crossfit'
                    when r1 < 0.95 then 'Yoga' else 'Pilates' end
                else case
                    when r1 < 0.33 then 'Ride' when r1 < 0.48 then 'Hike' when r1 < 0.66 then 'Walk'
                    when r1 < 0.76 then 'Swim' when r1 < 0.84 then 'VirtualRide' when r1 < 0.88 then 'GravelRide'
                    when r1 < 0.92 then 'Elliptical' when r1 < 0.94 then 'Rowing' when r1 < 0.96 then 'Snowshoe'
                    else 'Workout' end
            end as kind,
            climb_m_per_km > 18 as trail_runner
        from chosen
    ),
    shaped as (
        select *,
            case
                when slot <> 'run' then kind
                when trail_runner and r2 < 0.6 then 'TrailRun'
                when kind = 'easy' and r2 > 0.97 then 'VirtualRun'
                else 'Run'
            end as sport_type,
            r5 < 0.015 as manual,
            -- moving minutes and speed (m/s)
            case slot
                when 'run' then case kind
                    when 'race' then null
                    when 'long' then easy_minutes * (1.9 + 0.9 * r3)
                    when 'workout' then 45 + 30 * r3
                    else easy_minutes * (0.7 + 0.6 * r3) end
                when 'strength' then 25 + 35 * r3
                else case kind
                    when 'Ride' then 60 + 120 * r3 when 'GravelRide' then 60 + 150 * r3
                    when 'Hike' then 90 + 210 * r3 when 'Snowshoe' then 60 + 120 * r3
                    when 'Walk' then 30 + 60 * r3 when 'VirtualRide' then 40 + 50 * r3
                    else 30 + 30 * r3 end
            end * (1 + 0.15 * cos(2 * pi() * (dayofyear(day) - 200) / 365.25)) as planned_min,
            case slot
                when 'run' then easy_speed * case kind
                    when 'race' then 1.25 + 0.1 * r4 when 'workout' then 1.1 + 0.05 * r4
                    when 'long' then 0.96 + 0.04 * r4 else 0.95 + 0.1 * r4 end
                    * case when trail_runner and r2 < 0.6 then 0.8 else 1.0 end
                when 'strength' then 0
                else case kind
                    when 'Ride' then 6.5 + 1.5 * r4 when 'GravelRide' then 5.5 + 1.5 * r4
                    when 'Hike' then 0.9 + 0.3 * r4 when 'Snowshoe' then 0.8 + 0.3 * r4
                    when 'Walk' then 1.3 + 0.3 * r4 when 'Swim' then 0.6 + 0.2 * r4
                    when 'VirtualRide' then 8 + r4 when 'Rowing' then 3 + 0.5 * r4 else 0 end
            end as speed,
            -- share of the heart-rate reserve the session averages
            case slot
                when 'run' then case kind
                    when 'race' then 0.84 + 0.1 * r4 when 'workout' then 0.76 + 0.1 * r4
                    when 'long' then 0.64 + 0.08 * r4 + easy_bias else 0.58 + 0.1 * r4 + easy_bias end
                when 'strength' then 0.35 + 0.15 * r4
                else case kind
                    when 'Walk' then 0.3 + 0.1 * r4 when 'Hike' then 0.45 + 0.15 * r4
                    else 0.5 + 0.15 * r4 end
            end as hrr_share,
            case slot
                when 'run' then has_hr_sensor and r5 >= 0.045
                when 'strength' then has_hr_sensor and r5 < 0.35
                else has_hr_sensor and r5 < case kind when 'Walk' then 0.3 when 'Swim' then 0.3 else 0.7 end
            end as hr_recorded,
            case slot
                when 'run' then case
                    when kind = 'long' then 8.5 + 1.5 * r2
                    else run_hour + (r2 - 0.5) * 1.5 end
                when 'strength' then 19 + r2
                else 9.5 + 6.5 * r2
            end as local_hour,
            case slot when 'run' then case kind
                when 'race' then 1 when 'workout' then case when r3 < 0.7 then 3 else 0 end
                when 'long' then case when r3 < 0.6 then 2 else 0 end
                else case when r3 < 0.03 then null else 0 end end
            end as workout_type,
            case when kind = 'race' then [5000, 10000, 10000, 21097.5, 21097.5, 42195][1 + floor(r3 * 6)::integer] end
                as race_distance
        from kinds
    ),
    summarized as (
        select *,
            case
                when race_distance is not null then round(race_distance / speed)
                when manual then round(planned_min) * 60
                else round(planned_min * 60)
            end::integer as moving_time
        from shaped
    ),
    final as (
        select *,
            case when manual then moving_time
                 else moving_time + (30 + r4 * 400 + case when kind in ('long', 'race', 'Hike', 'Ride') then r5 * 1500 else 0 end)::integer
            end as elapsed_time,
            coalesce(race_distance, round(speed * moving_time, 1)) as distance,
            case when slot = 'strength' or kind in ('Swim', 'VirtualRide', 'Elliptical', 'Rowing', 'Workout')
                      or sport_type = 'VirtualRun' or manual then 0
                 else round(speed * moving_time / 1000 * climb_m_per_km
                            * case when slot = 'run' then 0.5 + r3 else 0.3 + r3 end, 1)
            end as total_elevation_gain,
            hr_recorded and not manual as has_heartrate,
            round(true_hr_rest + (true_hr_max - true_hr_rest) * least(0.97, hrr_share), 1) as average_heartrate,
            least(true_hr_max, round(true_hr_rest + (true_hr_max - true_hr_rest) * least(0.97, hrr_share)
                + case when kind = 'race' then 30 else 8 + 20 * r2 end))::double as max_heartrate,
            day + to_seconds(floor(local_hour * 3600)::bigint + floor(r5 * 59)::bigint) as start_local
        from summarized
    )
    select * from final
    """


def _insert_activities_sql(spec: ClubSpec, first_day: dt.date, last_day: dt.date, id_base: int, landed: dt.datetime) -> str:
    s = spec.seed
    landed_sql = f"timestamp '{landed.isoformat(sep=' ')}'"
    polyline = "left(repeat(md5(activity_id::varchar), 40), (60 + least(1200, distance / 20))::integer)"
    name = ("case when sport_type in ('Run', 'TrailRun') and kind = 'race' then 'Race ' || round(distance / 1000, 1) || ' km' "
            "when kind = 'workout' then 'Intervals' when kind = 'long' then 'Long run' "
            "else case when local_hour < 11 then 'Morning ' when local_hour < 14 then 'Lunch ' "
            "when local_hour < 18 then 'Afternoon ' else 'Evening ' end || sport_type end")
    return f"""
    create or replace temp table generated_activities as
    select
        {id_base} + row_number() over (order by start_local, athlete_id, slot) as activity_id,
        athlete_id, kind, slot, sport_type, manual, has_heartrate, moving_time, elapsed_time, distance,
        total_elevation_gain, average_heartrate, max_heartrate, workout_type, start_local, local_hour,
        start_local - to_seconds((utc_offset_h * 3600)::bigint) as start_utc,
        utc_offset_h, hrr_share, true_hr_rest, true_hr_max, has_export, garmin_owner_id,
        {_u(s, 'deleted', 'athlete_id', 'start_local')} < 0.002 as deleted
    from ({_generated_sessions_sql(spec, first_day, last_day)});

    insert into raw.activities
        (source, activity_id, athlete_id, json, stream_signature, deleted_at, first_seen_at, updated_at)
    select
        'api', activity_id, athlete_id,
        json_object(
            'resource_state', 2,
            'athlete', json_object('id', athlete_id, 'resource_state', 1),
            'name', {name},
            'distance', distance,
            'moving_time', moving_time,
            'elapsed_time', elapsed_time,
            'total_elevation_gain', total_elevation_gain,
            'type', case sport_type when 'TrailRun' then 'Run' when 'GravelRide' then 'Ride' else sport_type end,
            'sport_type', sport_type,
            'workout_type', workout_type,
            'id', activity_id,
            'start_date', strftime(start_utc, '%Y-%m-%dT%H:%M:%SZ'),
            'start_date_local', strftime(start_local, '%Y-%m-%dT%H:%M:%SZ'),
            'timezone', '(GMT' || case when utc_offset_h < 0 then '-' else '+' end
                || lpad(floor(abs(utc_offset_h))::integer::varchar, 2, '0') || ':'
                || lpad((60 * (abs(utc_offset_h) - floor(abs(utc_offset_h))))::integer::varchar, 2, '0') || ') Club/Zone',
            'utc_offset', utc_offset_h * 3600.0,
            'location_city', null, 'location_state', null, 'location_country', 'Switzerland',
            'achievement_count', (hash(activity_id, 'ach') % 5)::integer,
            'kudos_count', (hash(activity_id, 'kudos') % 30)::integer,
            'comment_count', (hash(activity_id, 'comments') % 4)::integer,
            'athlete_count', case when kind = 'race' then 150 + (hash(activity_id) % 3000)::integer else 1 end,
            'photo_count', 0,
            'map', json_object('id', 'a' || activity_id, 'summary_polyline', {polyline}, 'resource_state', 2),
            'trainer', sport_type in ('VirtualRun', 'VirtualRide'),
            'commute', false,
            'manual', manual,
            'private', false,
            'visibility', 'everyone',
            'flagged', false,
            'gear_id', case when slot = 'run' then 'g' || athlete_id when kind like '%Ride' then 'b' || athlete_id end,
            'start_latlng', [47.35 + (hash(activity_id, 'lat') % 1000) / 100000.0, 8.55 + (hash(activity_id, 'lng') % 1000) / 100000.0],
            'end_latlng', [47.35 + (hash(activity_id, 'lat') % 1000) / 100000.0, 8.55 + (hash(activity_id, 'lng') % 1000) / 100000.0],
            'average_speed', case when moving_time > 0 then round(distance / moving_time, 3) else 0 end,
            'max_speed', case when moving_time > 0 then round(1.3 * distance / moving_time, 3) else 0 end,
            'has_heartrate', has_heartrate,
            'heartrate_opt_out', false,
            'display_hide_heartrate_option', has_heartrate,
            'upload_id', case when manual then null else activity_id + 1000000000 end,
            'external_id', case when manual then null else 'garmin_ping_' || activity_id end,
            'from_accepted_tag', false,
            'pr_count', 0,
            'total_photo_count', 0,
            'has_kudoed', false,
            'average_heartrate', case when has_heartrate then average_heartrate end,
            'max_heartrate', case when has_heartrate then max_heartrate end
        ),
        substr(md5(activity_id::varchar || moving_time::varchar), 1, 16),
        case when deleted then {landed_sql} end,
        {landed_sql}, {landed_sql}
    from generated_activities;
    """


def _insert_exports_sql(spec: ClubSpec, landed: dt.datetime) -> str:
    """Athletes with a bulk export: their activities older than a year again as 'export' rows
    (the export holds no workout_type; the API row wins in staging)."""
    cutoff = spec.end_date - dt.timedelta(days=365)
    return f"""
    insert into raw.activities
        (source, activity_id, athlete_id, json, stream_signature, deleted_at, first_seen_at, updated_at)
    select 'export', a.activity_id, a.athlete_id, json_merge_patch(a.json, '{{"workout_type": null}}'),
        a.stream_signature, null, timestamp '{landed.isoformat(sep=' ')}', timestamp '{landed.isoformat(sep=' ')}'
    from raw.activities as a
    inner join generated_activities as g on g.activity_id = a.activity_id
    where a.source = 'api' and g.has_export and g.start_local < date '{cutoff.isoformat()}';
    """


def _insert_streams_sql(spec: ClubSpec, since: dt.date | None, landed: dt.datetime) -> str:
    """HR streams of the generated activities with heart rate (local date >= since, if given)."""
    step = max(1, int(spec.sample_seconds))
    window = f"and start_local >= date '{since.isoformat()}'" if since else ""
    sample_u = "((hash(activity_id, seq, '{t}') % 1000003)::double / 1000003)"
    jitter = f"floor({sample_u.format(t='dt')} * {step})::integer" if step > 1 else "0"
    noise = f"({sample_u.format(t='n1')} + {sample_u.format(t='n2')} - 1) * 3"
    return f"""
    create or replace temp table stream_activities as
    select
        activity_id, kind, moving_time, distance, total_elevation_gain, average_heartrate, true_hr_rest, true_hr_max,
        greatest(2, ceil(moving_time / {step}))::integer as n_samples,
        case when {_u(spec.seed, 'pause', 'activity_id')} < 0.33
             then floor(greatest(2, ceil(moving_time / {step})) * (0.2 + 0.6 * {_u(spec.seed, 'pause_at', 'activity_id')}))::integer end as pause_seq,
        (45 + 200 * {_u(spec.seed, 'pause_len', 'activity_id')})::integer as pause_s,
        case when {_u(spec.seed, 'dropout', 'activity_id')} < 0.08
             then floor(greatest(2, ceil(moving_time / {step})) * 0.5 * {_u(spec.seed, 'drop_at', 'activity_id')})::integer end as dropout_seq,
        (30 + 90 * {_u(spec.seed, 'drop_len', 'activity_id')})::integer as dropout_n,
        {_u(spec.seed, 'zero', 'activity_id')} < 0.1 as zero_start,
        120 + 180 * {_u(spec.seed, 'period', 'activity_id')} as interval_period_s,
        case when moving_time > 0 then distance / moving_time else 0 end as speed
    from generated_activities
    where has_heartrate and not deleted {window};

    insert into raw.streams
        (source, activity_id, seq, time_s, heartrate, moving, distance_m, altitude_m, velocity_smooth)
    with samples as (
        select *, unnest(range(n_samples)) as seq from stream_activities
    ),
    timed as (
        select *,
            (seq * {step} + {jitter} + case when seq >= pause_seq then pause_s else 0 end)::integer as time_s,
            (seq * {step})::double as active_s
        from samples
    ),
    beats as (
        select *,
            -- warm-up ramp to the session's level, workouts alternating above and below it, drift, noise
            average_heartrate
                - (average_heartrate - true_hr_rest - 25) * exp(-active_s / 150)
                + case when kind = 'workout'
                       then 0.09 * (true_hr_max - true_hr_rest)
                            * case when floor(active_s / interval_period_s) % 2 = 0 then 1 else -1 end
                       else 0 end
                + 4 * active_s / 3600
                + {noise} as hr_raw
        from timed
    )
    select
        'api', activity_id, seq::integer, time_s,
        case
            when dropout_seq is not null and seq between dropout_seq and dropout_seq + dropout_n then null
            when zero_start and seq < 3 then 0
            else round(least(true_hr_max, greatest(true_hr_rest + 5, hr_raw)))::integer
        end,
        not (seq = pause_seq),
        round(speed * active_s, 1),
        round(400 + total_elevation_gain / 2 * sin(2 * pi() * active_s / greatest(1, moving_time)), 1),
        round(speed * (0.93 + 0.14 * {sample_u.format(t='v')}), 3)
    from beats;

    insert into raw.stream_fetches (source, activity_id, stream_signature, sample_count, fetched_at)
    select 'api', s.activity_id, a.stream_signature, s.n_samples, timestamp '{landed.isoformat(sep=' ')}'
    from stream_activities as s
    inner join raw.activities as a on a.source = 'api' and a.activity_id = s.activity_id;
    """


def _insert_garmin_activities_sql(landed: dt.datetime) -> str:
    """The Garmin Connect copies (source 'garmin', Garmin's activity-list JSON) of the generated
    activities of athletes with a Garmin account: the same workouts, so int_activities_unified
    keeps the Strava rows (same athlete, same start)."""
    ts = f"timestamp '{landed.isoformat(sep=' ')}'"
    type_map = "map {" + ", ".join(f"'{k}': '{v}'" for k, v in GARMIN_TYPES.items()) + "}"
    return f"""
    insert into raw.activities
        (source, activity_id, athlete_id, json, stream_signature, deleted_at, first_seen_at, updated_at)
    select
        'garmin', {GARMIN_ACTIVITY_ID_BASE - ACTIVITY_ID_BASE} + activity_id, garmin_owner_id,
        json_object(
            'activityId', {GARMIN_ACTIVITY_ID_BASE - ACTIVITY_ID_BASE} + activity_id,
            'activityName', sport_type || ' ' || strftime(start_local, '%Y-%m-%d'),
            'startTimeLocal', strftime(start_local, '%Y-%m-%d %H:%M:%S'),
            'startTimeGMT', strftime(start_utc, '%Y-%m-%d %H:%M:%S'),
            'activityType', json_object('typeId', 1 + (hash(sport_type) % 200)::integer,
                                        'typeKey', coalesce({type_map}[sport_type], 'other'), 'parentTypeId', 17),
            'eventType', json_object('typeId', case when kind = 'race' then 1 else 9 end,
                                     'typeKey', case when kind = 'race' then 'race' else 'uncategorized' end),
            'distance', distance,
            'duration', elapsed_time + 0.0,
            'elapsedDuration', elapsed_time + 0.0,
            'movingDuration', moving_time + 0.0,
            'elevationGain', total_elevation_gain,
            'elevationLoss', total_elevation_gain,
            'averageSpeed', case when moving_time > 0 then round(distance / moving_time, 3) else 0 end,
            'maxSpeed', case when moving_time > 0 then round(1.3 * distance / moving_time, 3) else 0 end,
            'averageHR', case when has_heartrate then average_heartrate end,
            'maxHR', case when has_heartrate then max_heartrate end,
            'calories', round(moving_time / 60.0 * 11),
            'bmrCalories', round(moving_time / 60.0),
            'averageRunningCadenceInStepsPerMinute', case when slot = 'run' then 170 + (hash(activity_id) % 15)::integer end,
            'steps', case when slot = 'run' then round(moving_time * 2.85)::integer end,
            'ownerId', garmin_owner_id,
            'ownerDisplayName', 'runner-' || garmin_owner_id,
            'ownerFullName', 'Runner ' || garmin_owner_id,
            'beginTimestamp', epoch_ms(start_utc),
            'sportTypeId', 1,
            'aerobicTrainingEffect', round(1 + 3 * hrr_share, 1),
            'anaerobicTrainingEffect', round(2 * hrr_share, 1),
            'activityTrainingLoad', round(moving_time / 60.0 * hrr_share * 2, 1),
            'trainingEffectLabel', case when kind in ('workout', 'race') then 'LACTATE_THRESHOLD' else 'AEROBIC_BASE' end,
            'moderateIntensityMinutes', (moving_time // 120)::integer,
            'vigorousIntensityMinutes', (moving_time // 600)::integer,
            'differenceBodyBattery', -((moving_time // 300)::integer),
            'minElevation', 400.0, 'maxElevation', 400.0 + total_elevation_gain / 2,
            'startLatitude', 47.35 + (hash(activity_id, 'lat') % 1000) / 100000.0,
            'startLongitude', 8.55 + (hash(activity_id, 'lng') % 1000) / 100000.0,
            'locationName', 'Zürich',
            'timeZoneId', 124,
            'privacy', json_object('typeId', 2, 'typeKey', 'private'),
            'userRoles', ['SCOPE_GOLF_API_READ', 'SCOPE_ATP_READ', 'SCOPE_DIVE_API_WRITE', 'SCOPE_COMMUNITY_COURSE_ADMIN_READ'],
            'manualActivity', false,
            'autoCalcCalories', false,
            'hasPolyline', slot <> 'strength',
            'hasImages', false, 'hasVideo', false, 'hasSplits', slot = 'run', 'hasHeatMap', false,
            'favorite', false, 'pr', false, 'parent', false, 'purposeful', false, 'elevationCorrected', false,
            'atpActivity', false, 'decoDive', false,
            'deviceId', 3400000000 + garmin_owner_id,
            'manufacturer', 'GARMIN',
            'lapCount', greatest(1, (distance / 1000)::integer)
        ),
        substr(md5('garmin' || activity_id::varchar), 1, 16),
        case when deleted then {ts} end,
        {ts}, {ts}
    from generated_activities
    where garmin_owner_id is not null and not manual;
    """


def _insert_wellness_sql(spec: ClubSpec, first_day: dt.date, last_day: dt.date, landed: dt.datetime) -> str:
    """Garmin wellness (HRV, sleep, daily summary: GARMIN.md shapes) of the athletes with a
    Garmin account, every day from their first day: HRV on 85 % of nights, sleep on 92 %, a
    daily summary on 95 % of days; now and then a week of suppressed HRV and a raised
    resting heart rate (illness, accumulated fatigue)."""
    s = spec.seed
    ts = f"timestamp '{landed.isoformat(sep=' ')}'"

    def u(tag: str) -> str:
        return _u(s, tag, "athlete_id", "day")

    return f"""
    create or replace temp table wellness_days as
    select
        a.athlete_id, a.garmin_owner_id, d.day, strftime(d.day, '%Y-%m-%d') as ds,
        {_u(s, 'wellness_week', 'a.athlete_id', "date_trunc('week', d.day)")} < 0.06 as strained,
        a.hrv_base_ms, a.sleep_base_min, a.true_hr_rest,
        {u('hrv_take')} as u_hrv, {u('sleep_take')} as u_sleep, {u('daily_take')} as u_daily,
        {u('n1')} + {u('n2')} + {u('n3')} - 1.5 as noise, {u('n4')} as u4
    from ({_athletes_sql(spec)}) as a
    cross join (
        select cast(unnest(generate_series(timestamp '{first_day}', timestamp '{last_day}', interval 1 day)) as date) as day
    ) as d
    where a.garmin_owner_id is not null and d.day >= a.first_date;

    insert into raw.garmin_wellness (owner_id, kind, calendar_date, json, landed_at)
    select garmin_owner_id, 'hrv', day, json_object(
        'calendarDate', ds,
        'weeklyAvg', round(hrv_base_ms * case when strained then 0.85 else 1 end),
        'lastNightAvg', round(hrv_base_ms * exp(0.2 * noise) * case when strained then 0.78 else 1 end),
        'lastNight5MinHigh', round(1.3 * hrv_base_ms * exp(0.2 * noise)),
        'baseline', json_object('lowUpper', round(0.75 * hrv_base_ms), 'balancedLow', round(0.85 * hrv_base_ms),
                                'balancedUpper', round(1.15 * hrv_base_ms), 'markerValue', 0.5),
        'status', case when strained then 'LOW' else 'BALANCED' end,
        'feedbackPhrase', case when strained then 'HRV_LOW_2' else 'HRV_BALANCED_5' end,
        'createTimeStamp', ds || 'T06:31:07.0'), {ts}
    from wellness_days where u_hrv < 0.85;

    insert into raw.garmin_wellness (owner_id, kind, calendar_date, json, landed_at)
    select garmin_owner_id, 'sleep', day, json_object(
        'id', epoch_ms(day - interval 2 hour),
        'calendarDate', ds,
        'sleepTimeSeconds', round((sleep_base_min + 40 * noise) * 60)::integer,
        'deepSleepSeconds', round((sleep_base_min + 40 * noise) * 60 * 0.18)::integer,
        'lightSleepSeconds', round((sleep_base_min + 40 * noise) * 60 * 0.6)::integer,
        'remSleepSeconds', round((sleep_base_min + 40 * noise) * 60 * 0.22)::integer,
        'awakeSleepSeconds', (300 + 1800 * u4)::integer,
        'sleepStartTimestampGMT', epoch_ms(day - interval 2 hour),
        'sleepEndTimestampGMT', epoch_ms(day + interval 6 hour),
        'sleepScores', json_object('overall', json_object('value', round(70 + 15 * noise)::integer, 'qualifierKey', 'GOOD'))), {ts}
    from wellness_days where u_sleep < 0.92;

    insert into raw.garmin_wellness (owner_id, kind, calendar_date, json, landed_at)
    select garmin_owner_id, 'daily_summary', day, json_object(
        'calendarDate', ds, 'userProfilePk', garmin_owner_id, 'source', 'garmin',
        'heartRate', json_object(
            'minValue', true_hr_rest - 3,
            'maxValue', 120 + (40 * u4)::integer,
            'restingValue', round(true_hr_rest + 2 * noise + case when strained then 6 else 0 end)::integer),
        'stress', json_object('avgLevel', round(28 + 8 * noise)::integer),
        'bodyBattery', json_object('minValue', 15 + (20 * u4)::integer, 'maxValue', 70 + (25 * u4)::integer),
        'movement', json_object('steps', json_object('value', (6000 + 9000 * u4)::integer, 'goal', 10000))), {ts}
    from wellness_days where u_daily < 0.95;
    """


def _has_garmin_accounts_column(con: duckdb.DuckDBPyConnection) -> bool:
    """raw.athlete_profiles names each roster athlete's Garmin account (garmin_owner_id)."""
    return con.execute(
        "select count(*) from information_schema.columns where table_schema = 'raw' "
        "and table_name = 'athlete_profiles' and column_name = 'garmin_owner_id'").fetchall()[0][0] > 0


def _insert_athletes_sql(spec: ClubSpec, landed: dt.datetime) -> str:
    ts = f"timestamp '{landed.isoformat(sep=' ')}'"
    return f"""
    create or replace temp table club_athletes as {_athletes_sql(spec)};

    insert into raw.athlete (athlete_id, json, fetched_at)
    select athlete_id, json_object(
        'id', athlete_id, 'username', 'runner' || athlete_index, 'resource_state', 3,
        'firstname', 'Runner', 'lastname', 'No. ' || (athlete_index + 1),
        'city', 'Zürich', 'state', 'Zürich', 'country', 'Switzerland',
        'sex', coalesce(sex, ''), 'premium', false, 'summit', false,
        'created_at', '2019-01-01T12:00:00Z', 'updated_at', '2026-01-01T12:00:00Z',
        'weight', round(50 + 40 * ((hash(athlete_id, 'kg') % 1000) / 1000.0), 1),
        'measurement_preference', 'meters', 'clubs', [], 'bikes', [], 'shoes', []), {ts}
    from club_athletes;

    insert into raw.athlete_zones (athlete_id, json, fetched_at)
    select athlete_id, json_object('heart_rate', json_object('custom_zones', false, 'zones', [
        {{'min': 0, 'max': round(0.65 * true_hr_max)::integer}},
        {{'min': round(0.65 * true_hr_max)::integer, 'max': round(0.81 * true_hr_max)::integer}},
        {{'min': round(0.81 * true_hr_max)::integer, 'max': round(0.89 * true_hr_max)::integer}},
        {{'min': round(0.89 * true_hr_max)::integer, 'max': round(0.97 * true_hr_max)::integer}},
        {{'min': round(0.97 * true_hr_max)::integer, 'max': -1}}])), {ts}
    from club_athletes;

    insert into raw.athlete_profiles (athlete_id, hr_max, hr_rest, lthr, sex, min_runs_per_week, updated_at)
    select athlete_id,
        case when cfg_hr_max then true_hr_max end,
        case when cfg_hr_rest then true_hr_rest end,
        case when cfg_lthr then round(true_hr_max * 0.88)::integer end,
        case when cfg_sex then sex end,
        cfg_min_runs,
        {ts}
    from club_athletes
    where in_roster;
    """


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    for statement in sql.split(";\n"):
        if statement.strip():
            con.execute(statement)


def generate_club(con: duckdb.DuckDBPyConnection, spec: ClubSpec, landed: dt.datetime | None = None) -> list[str]:
    """Land the whole club into the raw tables of `con` (which must hold the raw schema);
    returns notes on what was left out."""
    notes = []
    landed = landed or dt.datetime.combine(spec.end_date + dt.timedelta(days=1), dt.time(3, 0))
    garmin = spec.garmin_share > 0 and _has_garmin_accounts_column(con)
    if spec.garmin_share > 0 and not garmin:
        notes.append("no Garmin data: raw.athlete_profiles has no garmin_owner_id column to map accounts to athletes")
    _run(con, _insert_athletes_sql(spec, landed))
    if garmin:
        con.execute("update raw.athlete_profiles set garmin_owner_id = club_athletes.garmin_owner_id "
                    "from club_athletes where raw.athlete_profiles.athlete_id = club_athletes.athlete_id")
    _run(con, _insert_activities_sql(spec, spec.first_date, spec.end_date, ACTIVITY_ID_BASE, landed))
    _run(con, _insert_exports_sql(spec, landed))
    if garmin:
        _run(con, _insert_garmin_activities_sql(landed))
        _run(con, _insert_wellness_sql(spec, spec.first_date, spec.end_date, landed))
    since = None if spec.stream_weeks is None else spec.end_date - dt.timedelta(days=7 * spec.stream_weeks - 1)
    if spec.stream_weeks != 0:
        _run(con, _insert_streams_sql(spec, since, landed))
    return notes


def add_day(con: duckdb.DuckDBPyConnection, spec: ClubSpec, day: dt.date) -> int:
    """Land one more day of activities (with their streams, Garmin copies and wellness), as a
    nightly sync does; returns the number of activities added."""
    landed = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3, 0))
    id_base = con.execute("select coalesce(max(activity_id), 0) from raw.activities where source = 'api'").fetchall()[0][0]
    _run(con, _insert_activities_sql(spec, day, day, max(id_base, ACTIVITY_ID_BASE), landed))
    if spec.garmin_share > 0 and _has_garmin_accounts_column(con):
        _run(con, _insert_garmin_activities_sql(landed))
        _run(con, _insert_wellness_sql(spec, day, day, landed))
    if spec.stream_weeks != 0:
        _run(con, _insert_streams_sql(spec, day, landed))
    return con.execute("select count(*) from generated_activities").fetchall()[0][0]
