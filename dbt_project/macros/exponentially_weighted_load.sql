{#
    CTL / ATL (METRICS.md section 4) without a row-by-row recursion, exactly.

    The recursion  v(d) = v(d-1) + (load(d) - v(d-1)) / T,  v(first_day - 1) = 0,  is linear:
    with a = 1/T and r = 1 - a,

        v(n) = a * sum_{j <= n} load(j) * r^(n - j)                      (day indexes n, j)

    Computing that as a * r^n * sum_j load(j) * r^-j  (the "(1-a)^-n trick") overflows
    after a few thousand days (r^-n for T = 7 passes 1e308 after ~4,600 days) and loses
    precision long before. Instead the days are cut into blocks of B days (block b starts
    at s_b = b * B; a day's offset in its block is o = n - s_b, 0 <= o < B) and

        v(n) = a * r^o(n) * ( P_b(n) + Q_b )
        P_b(n) = sum_{j in block b, j <= n} load(j) * r^-o(j)            (window prefix sum)
        Q_b    = sum_{blocks c < b} r^(s_b - s_c) * T_c,   T_c = sum_{j in c} load(j) * r^-o(j)

    Every exponent of r^-x is below B (for T = 7 and B = 128: (7/6)^127 ~ 3e8, far from
    overflow), r^(s_b - s_c) only shrinks (underflowing to 0 for blocks decades back is
    harmless: their weight really is below 1e-300), and all terms are non-negative, so
    the result carries a relative error of a few units in the last place, for any length
    of history, in one pass of window functions plus a join over the few blocks
    (40 years = 115 blocks). A recursive CTE gives the same numbers but needs one engine
    iteration per day (measured: docs/dbt.md).

    Input: a relation/CTE with athlete_id, day_index (0 on the first day, dense), load.
    Emits CTEs named <name>_blocked ... and finally <name> (athlete_id, day_index, <name>).
#}
{% macro exponentially_weighted_load_ctes(input, name, time_constant, block_days=128) -%}
{%- set a = '(' ~ dbl(1) ~ ' / ' ~ time_constant ~ ')' -%}
{%- set r = '(' ~ dbl(1) ~ ' - ' ~ dbl(1) ~ ' / ' ~ time_constant ~ ')' -%}
{{ name }}_blocked as (

    select
        athlete_id,
        day_index,
        load,
        cast(floor(cast(day_index as {{ type_double() }}) / {{ block_days }}) as integer) as block_id
    from {{ input }}

),

{{ name }}_weighted as (

    select
        athlete_id,
        day_index,
        block_id,
        day_index - block_id * {{ block_days }} as block_offset,
        load * power({{ r }}, -(day_index - block_id * {{ block_days }})) as weighted_load
    from {{ name }}_blocked

),

{{ name }}_prefix as (

    select
        athlete_id,
        day_index,
        block_id,
        block_offset,
        sum(weighted_load) over (
            partition by athlete_id, block_id
            order by day_index
            rows between unbounded preceding and current row
        ) as block_prefix
    from {{ name }}_weighted

),

{{ name }}_block_totals as (

    select
        athlete_id,
        block_id,
        sum(weighted_load) as block_total
    from {{ name }}_weighted
    group by athlete_id, block_id

),

{{ name }}_carry as (

    select
        later.athlete_id,
        later.block_id,
        sum(
            case
                when earlier.block_id < later.block_id
                    then power({{ r }}, (later.block_id - earlier.block_id) * {{ block_days }}) * earlier.block_total
                else 0
            end
        ) as carried
    from {{ name }}_block_totals as later
    inner join {{ name }}_block_totals as earlier
        on later.athlete_id = earlier.athlete_id
        and earlier.block_id <= later.block_id
    group by later.athlete_id, later.block_id

),

{{ name }} as (

    select
        {{ name }}_prefix.athlete_id,
        {{ name }}_prefix.day_index,
        {{ a }} * power({{ r }}, {{ name }}_prefix.block_offset)
            * ({{ name }}_prefix.block_prefix + {{ name }}_carry.carried) as {{ name }}
    from {{ name }}_prefix
    inner join {{ name }}_carry
        on {{ name }}_prefix.athlete_id = {{ name }}_carry.athlete_id
        and {{ name }}_prefix.block_id = {{ name }}_carry.block_id

)
{%- endmacro %}
