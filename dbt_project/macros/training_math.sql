{#
    Shared formulas of METRICS.md section 3, so the stream path and the average-HR path
    cannot drift apart. All arguments are double expressions.
#}

{# Zone of a heart rate: easy < 0.90 x lthr <= moderate < lthr <= hard (double precision). #}
{% macro hr_zone(hr, lthr) -%}
    case
        when {{ hr }} < {{ dbl('0.9') }} * {{ lthr }} then 'easy'
        when {{ hr }} < {{ lthr }} then 'moderate'
        else 'hard'
    end
{%- endmacro %}

{# Heart-rate reserve fraction x = clamp((hr - hr_rest) / (hr_max - hr_rest), 0, 1). #}
{% macro hr_reserve_fraction(hr, hr_rest, hr_max) -%}
    greatest({{ dbl(0) }}, least({{ dbl(1) }}, ({{ hr }} - {{ hr_rest }}) / ({{ hr_max }} - {{ hr_rest }})))
{%- endmacro %}

{# Banister TRIMP weight per minute: x * k * exp(b * x). #}
{% macro trimp_weight(x, k, b) -%}
    (({{ x }}) * ({{ k }}) * exp(({{ b }}) * ({{ x }})))
{%- endmacro %}
