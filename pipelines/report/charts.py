"""The report's charts as small, deterministic PNGs (matplotlib, Agg backend).

Fixed font (DejaVu Sans, shipped with matplotlib), fixed sizes and no metadata that
changes between runs (no Software/date chunks), so the same data gives the same bytes.
Each chart is drawn at 2x for sharp phone screens and stays well under 60 KB.
"""

from __future__ import annotations

import datetime as dt
import io
import math

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pipelines.report.data import WELLNESS_WEEKS, Intensity, WeekData  # noqa: E402
from pipelines.report.weeks import ONE_DAY, week_end  # noqa: E402

# Colours shared with the HTML (render.py) so the text and the pictures agree.
INK = "#1f2933"
MUTED = "#6b7785"
GRID = "#e4e8ee"
BAR = "#b8c4d2"
ACCENT = "#e8590c"
EASY = "#2f9e44"
MODERATE = "#f59f00"
HARD = "#e03131"
FITNESS = "#1c7ed6"
FATIGUE = "#c2255c"
FORM_POS = "#2f9e44"
FORM_NEG = "#e03131"
HRV = "#1c7ed6"
HRV_BAND = "#d3f9d8"
HRV_LOW = "#e03131"
NIGHTLY = "#8a96a3"

WIDTH_IN = 5.0     # shown 550 px wide in the mail (about 340 px on a phone)
DPI = 200          # 1000 px wide: sharp on a phone, still small as PNG

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 12,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlecolor": INK,
    "axes.titlelocation": "left",
    "axes.titlepad": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.frameon": False,
    "svg.hashsalt": "trainsmart",
    "path.simplify": True,
}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white",
                metadata={"Software": None, "Title": None, "Author": None, "Description": None,
                          "Copyright": None, "Creation Time": None, "Disclaimer": None, "Warning": None,
                          "Source": None, "Comment": None})
    plt.close(fig)
    return _shrink(buf.getvalue())


def _shrink(png: bytes) -> bytes:
    """Re-encode with an adaptive palette (the charts use a handful of colours): about a third
    of the size, visually identical, still deterministic."""
    try:
        from PIL import Image
    except ImportError:  # pillow comes with matplotlib; keep the original if it ever does not
        return png
    with Image.open(io.BytesIO(png)) as im:
        small = im.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    return data if len(data) < len(png) else png


def _week_label(monday: dt.date, previous: dt.date | None) -> str:
    if previous is None or previous.month != monday.month:
        return f"{monday.day}\n{monday:%b}"
    return f"{monday.day}"


# -- 12 weeks of volume --------------------------------------------------------------------------
def volume_chart(weeks: list[tuple[dt.date, float | None]], highlight: dt.date, baseline: float | None = None,
                 unit: str = "km") -> bytes:
    """Bars per week (None = before the first week: no bar); `highlight` drawn in the accent colour,
    an optional dashed line at the baseline (the mean of the 4 weeks before)."""
    with plt.rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN, 2.7))
        ax = fig.add_subplot()
        xs = list(range(len(weeks)))
        values = [v if v is not None else 0.0 for _, v in weeks]
        colors = [ACCENT if monday == highlight else BAR for monday, _ in weeks]
        ax.bar(xs, values, width=0.68, color=colors, zorder=2)
        top = max([v for v in values] + [baseline or 0.0, 1.0])
        for x, (monday, v) in zip(xs, weeks):
            if v is None:
                continue
            ax.text(x, v + top * 0.025, f"{v:.0f}", ha="center", va="bottom", fontsize=11,
                    color=INK if monday == highlight else MUTED,
                    fontweight="bold" if monday == highlight else "normal")
        if baseline is not None and baseline > 0:
            ax.axhline(baseline, color=INK, linestyle=(0, (4, 3)), linewidth=1, zorder=1.5)
            ax.legend(handles=[matplotlib.lines.Line2D([], [], color=INK, linestyle=(0, (4, 3)), linewidth=1,
                                                       label=f"4-week average {baseline:.0f} {unit}")],
                      loc="upper left", handlelength=2.2, borderaxespad=0.1)
        ax.set_ylim(0, top * 1.3)
        ax.set_xlim(-0.6, len(weeks) - 0.4)
        labels, prev = [], None
        for monday, _ in weeks:
            labels.append(_week_label(monday, prev))
            prev = monday
        ax.set_xticks(xs, labels)
        ax.tick_params(axis="x", length=0)
        ax.tick_params(axis="y", length=0)
        ax.yaxis.grid(True, color=GRID, linewidth=0.8, zorder=0)
        ax.set_ylabel(unit)
        fig.subplots_adjust(left=0.1, right=0.99, top=0.97, bottom=0.2)
        return _png(fig)


# -- intensity mix -----------------------------------------------------------------------------
def intensity_chart(this_week: Intensity, before: Intensity | None, target: float = 0.75) -> bytes:
    """100% stacked bars (easy / moderate / hard run minutes with heart rate) for this week and the
    4 weeks before, with the 75%-easy target as a dashed line."""
    rows = [("This week", this_week)]
    if before is not None and before.classified_min > 0:
        rows.append(("Prev. 4 wk", before))
    with plt.rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN, 0.8 + 0.55 * len(rows)))
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        for y, (label, mix) in zip(ys, rows):
            left = 0.0
            for zone, color in (("easy", EASY), ("moderate", MODERATE), ("hard", HARD)):
                share = mix.share(zone)
                if not share:
                    continue
                ax.barh(y, share, left=left, height=0.62, color=color, edgecolor="white", linewidth=1.2, zorder=2)
                if share >= 0.09:
                    ax.text(left + share / 2, y, f"{share:.0%}", ha="center", va="center", color="white",
                            fontsize=11.5, fontweight="bold", zorder=3)
                left += share
        ax.axvline(target, color=INK, linestyle=(0, (4, 3)), linewidth=1, zorder=4)
        ax.text(target, len(rows) - 0.45, f"target {target:.0%} easy", ha="center", va="bottom", fontsize=10.5, color=INK,
                bbox={"boxstyle": "square,pad=0.2", "facecolor": "white", "edgecolor": "none"}, zorder=5)
        ax.set_yticks(ys, [label for label, _ in rows])
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, len(rows) - 0.5 + 0.35)
        ax.set_xticks([])
        ax.tick_params(axis="y", length=0, labelsize=11, labelcolor=INK)
        ax.spines["bottom"].set_visible(False)
        handles = [matplotlib.patches.Patch(color=c, label=lab)
                   for c, lab in ((EASY, "Easy"), (MODERATE, "Moderate"), (HARD, "Hard"))]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, handlelength=1.2,
                  columnspacing=1.6)
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.22 / fig.get_figheight(),
                            bottom=0.42 / fig.get_figheight())
        return _png(fig)


# -- fitness / fatigue / form -------------------------------------------------------------------
def fitness_chart(daily: list[dict], week_start: dt.date) -> bytes:
    """Fitness (CTL) and fatigue (ATL) lines above, form (TSB) as an area below, the reported
    week shaded in both."""
    dates = [d["date"] for d in daily]
    ctl = [float(d["ctl"] or 0) for d in daily]
    atl = [float(d["atl"] or 0) for d in daily]
    tsb = [float(d["tsb"] or 0) for d in daily]
    with plt.rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN, 3.4))
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.1, 1], "hspace": 0.22})
        span = (week_start - ONE_DAY / 2, week_end(week_start) + ONE_DAY / 2)
        for ax in (top, bottom):
            ax.axvspan(*span, color="#fff1e6", zorder=0, linewidth=0)
            ax.yaxis.grid(True, color=GRID, linewidth=0.8, zorder=0)
            ax.tick_params(axis="both", length=0)
        top.plot(dates, ctl, color=FITNESS, linewidth=2.2, label="Fitness (CTL)", zorder=3)
        top.plot(dates, atl, color=FATIGUE, linewidth=1.4, label="Fatigue (ATL)", zorder=3)
        top.set_ylim(0, max(ctl + atl + [1.0]) * 1.3)
        top.legend(loc="upper left", ncol=2, handlelength=1.6)
        if dates:
            # end labels, pushed apart when the two lines end close together
            gap = 9.0 - abs(ctl[-1] - atl[-1]) / (top.get_ylim()[1] or 1) * 150  # in points
            shift = max(gap, 0.0) / 2
            up_ctl = 1 if ctl[-1] >= atl[-1] else -1
            top.annotate(f"{ctl[-1]:.0f}", (dates[-1], ctl[-1]), xytext=(4, up_ctl * shift), textcoords="offset points",
                         va="center", fontsize=11, color=FITNESS, fontweight="bold")
            top.annotate(f"{atl[-1]:.0f}", (dates[-1], atl[-1]), xytext=(4, -up_ctl * shift), textcoords="offset points",
                         va="center", fontsize=11, color=FATIGUE, fontweight="bold")
        bottom.fill_between(dates, tsb, 0, where=[v >= 0 for v in tsb], color=FORM_POS, alpha=0.55, linewidth=0,
                            interpolate=True, zorder=2)
        bottom.fill_between(dates, tsb, 0, where=[v < 0 for v in tsb], color=FORM_NEG, alpha=0.55, linewidth=0,
                            interpolate=True, zorder=2)
        bottom.axhline(0, color=MUTED, linewidth=0.8, zorder=3)
        lim = max([abs(v) for v in tsb] + [5.0]) * 1.2
        bottom.set_ylim(-lim, lim)
        bottom.set_title("Form (TSB) = fitness − fatigue", fontsize=11, fontweight="normal", color=INK, pad=3)
        if dates:
            bottom.annotate(f"{tsb[-1]:+.0f}", (dates[-1], tsb[-1]), xytext=(4, 0), textcoords="offset points",
                            va="center", fontsize=11, fontweight="bold",
                            color=FORM_POS if tsb[-1] >= 0 else FORM_NEG)
        if dates:
            mondays = [d for d in dates if d.weekday() == 0][::2]
            bottom.set_xticks(mondays, [f"{d.day} {d:%b}" for d in mondays])
            bottom.set_xlim(dates[0] - ONE_DAY, dates[-1] + dt.timedelta(days=4))
        fig.subplots_adjust(left=0.09, right=0.93, top=0.97, bottom=0.09)
        return _png(fig)


# -- HRV trend against its normal range ------------------------------------------------------------
def _ms(ln_value: float | None) -> float | None:
    return math.exp(ln_value) if ln_value is not None else None


def hrv_chart(wellness: list[dict], week_start: dt.date, first_day: dt.date | None = None) -> bytes:
    """The 7-day HRV (mean ln rMSSD over 7 nights, drawn in ms = exp) as a line, its normal range
    (60-day baseline mean ± 0.5 SD of ln rMSSD, in ms) as a band, the nightly rMSSD as dots, days
    below the range in red, the reported week shaded; `first_day` is the left end of the x axis."""
    sunday = week_end(week_start)
    if wellness:  # the data may start later (the athlete's first day)
        first_day = max(first_day or wellness[0]["date"], wellness[0]["date"])
    first_day = first_day or week_start
    dates = [w["date"] for w in wellness]
    line = [_ms(w.get("hrv_7d")) for w in wellness]
    low = [_ms(w["hrv_base_mean"] - 0.5 * w["hrv_base_sd"])
           if w.get("hrv_base_mean") is not None and w.get("hrv_base_sd") is not None else None for w in wellness]
    high = [_ms(w["hrv_base_mean"] + 0.5 * w["hrv_base_sd"])
            if w.get("hrv_base_mean") is not None and w.get("hrv_base_sd") is not None else None for w in wellness]
    nightly = [(w["date"], w["hrv_rmssd"]) for w in wellness if w.get("hrv_rmssd") is not None]
    below = [(w["date"], _ms(w["hrv_7d"])) for w in wellness if w.get("hrv_suppressed") and w.get("hrv_7d") is not None]
    with plt.rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN, 3.0))
        ax = fig.add_subplot()
        ax.axvspan(week_start - ONE_DAY / 2, sunday + ONE_DAY / 2, color="#fff1e6", zorder=0, linewidth=0)
        ax.yaxis.grid(True, color=GRID, linewidth=0.8, zorder=0)
        ax.tick_params(axis="both", length=0)
        handles = []
        if any(v is not None for v in low):
            ax.fill_between(dates, [v if v is not None else math.nan for v in low],
                            [v if v is not None else math.nan for v in high], color=HRV_BAND, linewidth=0, zorder=1)
            handles.append(matplotlib.patches.Patch(color=HRV_BAND, label="Normal range"))
        if nightly:
            ax.scatter([d for d, _ in nightly], [v for _, v in nightly], s=9, color=NIGHTLY, linewidths=0, zorder=2)
            handles.append(matplotlib.lines.Line2D([], [], color=NIGHTLY, marker="o", markersize=3.5, linestyle="none",
                                                   label="Each night"))
        if any(v is not None for v in line):
            ax.plot(dates, [v if v is not None else math.nan for v in line], color=HRV, linewidth=2.2, zorder=3)
            handles.append(matplotlib.lines.Line2D([], [], color=HRV, linewidth=2.2, label="7-day average"))
        if below:
            ax.scatter([d for d, _ in below], [v for _, v in below], s=22, color=HRV_LOW, linewidths=0, zorder=4)
            handles.append(matplotlib.lines.Line2D([], [], color=HRV_LOW, marker="o", markersize=4.5, linestyle="none",
                                                   label="Below range"))
        last = next(((d, v) for d, v in zip(reversed(dates), reversed(line)) if v is not None), None)
        if last is not None:
            ax.annotate(f"{last[1]:.0f}", last, xytext=(5, 0), textcoords="offset points", va="center", fontsize=11,
                        fontweight="bold", color=HRV_LOW if below and below[-1][0] == last[0] else HRV)
        values = [v for v in line + low + high + [v for _, v in nightly] if v is not None]
        if values:
            lo, hi = min(values), max(values)
            pad = max((hi - lo) * 0.12, 2.0)
            ax.set_ylim(max(lo - pad, 0), hi + pad)
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=5, integer=True))
        ax.set_ylabel("rMSSD (ms)")
        # every second Monday, ending with the reported week's
        mondays = [week_start - dt.timedelta(weeks=k) for k in range(0, 52, 2)
                   if week_start - dt.timedelta(weeks=k) >= first_day][::-1]
        ax.set_xticks(mondays, [f"{d.day} {d:%b}" for d in mondays])
        ax.set_xlim(first_day - ONE_DAY, sunday + dt.timedelta(days=4))
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=len(handles),
                   handlelength=1.1, columnspacing=0.9, handletextpad=0.35, borderaxespad=0, fontsize=10)
        fig.subplots_adjust(left=0.11, right=0.93, top=0.95, bottom=0.2)
        return _png(fig)


def hrv_window_start(week_start: dt.date, weeks: int) -> dt.date:
    return week_start - dt.timedelta(weeks=weeks - 1)


# -- all of them ---------------------------------------------------------------------------------
def render_charts(week: WeekData) -> dict[str, bytes]:
    """{name: png} for the charts that have something to show: 'volume', 'intensity', 'fitness', and
    'hrv' for a week with wellness data and HRV values in the 8 weeks up to its Sunday."""
    charts: dict[str, bytes] = {}
    volume = [(h["week_start"], (float(h["row"].get("run_distance_km") or 0.0) if h["row"] is not None else None))
              for h in week.history]
    if any(v is not None for _, v in volume):
        baseline = next((c.baseline for c in week.comparisons if c.key == "run_distance_km"), None)
        charts["volume"] = volume_chart(volume, week.week_start, baseline)
    if week.intensity.classified_min > 0:
        charts["intensity"] = intensity_chart(week.intensity, week.baseline_intensity)
    if week.daily:
        charts["fitness"] = fitness_chart(week.daily, week.week_start)
    if week.has_wellness and any(w.get("hrv_rmssd") is not None or w.get("hrv_7d") is not None
                                 for w in week.wellness):
        charts["hrv"] = hrv_chart(week.wellness, week.week_start, hrv_window_start(week.week_start, WELLNESS_WEEKS))
    return charts
