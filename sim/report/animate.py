"""An animated queue (`caresim animate`): queue lengths and agents on duty over one replication,
with a moving time marker and, beside it, the queue and the team at that moment.

Written as a GIF with Pillow (which comes with matplotlib), or as MP4 when ffmpeg is installed.
Frames are subsampled (at most `max_frames`), and for a GIF only the moving parts are redrawn
over a background drawn once (blitting), so a two-week run animates in seconds.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
from matplotlib.animation import FFMpegWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from .. import breakdowns
from ..records import TimeSeries
from ..rundir import RunInfo
from .plots import ACK_COLOR, RESOLVE_COLOR, STAFF_COLORS, TEXT_COLOR, _style
from .tables import WEEKDAYS

MAX_FRAMES = 200
DPI = 80
BUSY_COLOR = "#8fbc8f"


class AnimationError(Exception):
    """The animation cannot be made from these inputs; the message says why."""


def frame_indices(n: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """Indices of the intervals shown as frames: all of them, or `max_frames` evenly spread
    from the first to the last."""
    if n <= max_frames:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_frames)).astype(np.int64))


def _writer(path: Path, fps: int):
    """None for a GIF (frames are blitted and saved with Pillow), an ffmpeg writer for MP4."""
    suffix = path.suffix.lower()
    if suffix == ".gif":
        return None
    if suffix == ".mp4":
        if not FFMpegWriter.isAvailable():
            raise AnimationError(f"{path}: MP4 needs ffmpeg, which is not installed; write a .gif instead")
        return FFMpegWriter(fps=fps)
    raise AnimationError(f"{path}: expected a .gif or .mp4 file name")


def _select(series: TimeSeries, replication: int) -> TimeSeries:
    reps = np.asarray(series.replication)
    if not (reps == replication).any():
        present = ", ".join(str(r) for r in np.unique(reps)[:10]) or "none"
        raise AnimationError(f"no replication {replication} in the time series (replications: {present})")
    keep = reps == replication
    return TimeSeries(reps[keep], series.time[keep], series.pool[keep],
                      {k: v[keep] for k, v in series.values.items()}, series.pools)


def animate_queue(series: TimeSeries, info: RunInfo, out: Path, replication: int = 0, fps: int = 12,
                  hours: float | None = None, max_frames: int = MAX_FRAMES) -> int:
    """Write the animation of `replication` to `out` (.gif, or .mp4 with ffmpeg); return the
    number of frames. `hours` limits it to the first hours of the series (after the warm-up)."""
    out = Path(out)
    writer = _writer(out, fps)
    mean = breakdowns.queue_series_mean(_select(series, replication))
    time = mean.time
    if hours is not None:
        time = time[time < time[0] + hours * 60.0]
    n = len(time)
    if n < 2:
        raise AnimationError("the time series has fewer than two intervals to animate")
    start = np.datetime64(info.start, "ms")
    x = start + np.round(time * 60_000).astype("timedelta64[ms]")
    ack, res = mean.total("ack_queue")[:n], mean.total("resolve_queue")[:n]
    busy = mean.total("busy_agents")[:n]
    duty = {pool: mean.values["agents_on_duty"][i][:n] for i, pool in enumerate(mean.pools)}
    on_duty = np.nansum(np.vstack(list(duty.values())), axis=0)

    fig = Figure(figsize=(10.0, 5.2), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, width_ratios=(3.4, 1), height_ratios=(1.4, 1))
    top = fig.add_subplot(grid[0, 0])
    bottom = fig.add_subplot(grid[1, 0], sharex=top)
    queue_now = fig.add_subplot(grid[0, 1], sharey=top)
    staff_now = fig.add_subplot(grid[1, 1], sharey=bottom)
    for ax in (top, bottom, queue_now, staff_now):
        _style(ax)
    # Moving parts are `animated`: left out of the background drawn once, redrawn per frame.
    title = fig.suptitle(" ", fontsize=13, fontweight="bold", color=TEXT_COLOR, animated=True)

    top.plot(x, ack, color=ACK_COLOR, linewidth=0.8, alpha=0.25, drawstyle="steps-post")
    top.plot(x, res, color=RESOLVE_COLOR, linewidth=0.8, alpha=0.25, drawstyle="steps-post")
    ack_line, = top.plot([], [], color=ACK_COLOR, linewidth=1.4, drawstyle="steps-post", animated=True,
                         label="waiting for acknowledgement")
    res_line, = top.plot([], [], color=RESOLVE_COLOR, linewidth=1.4, drawstyle="steps-post", animated=True,
                         label="waiting for resolution")
    top.set_ylim(0, max(1.0, float(np.nanmax(np.concatenate([ack, res])))) * 1.15)
    top.set_ylabel("mentions waiting", color=TEXT_COLOR)
    top.legend(handles=[ack_line, res_line], loc="upper left", fontsize=8.5, frameon=False, ncol=2)
    top.tick_params(labelbottom=False)

    bottom.fill_between(x, busy, step="post", color=BUSY_COLOR, alpha=0.6, label="agents busy (all pools)")
    for i, (pool, values) in enumerate(duty.items()):
        bottom.step(x, values, where="post", color=STAFF_COLORS[i % len(STAFF_COLORS)], linewidth=1.0,
                    label=f"on duty: {pool}")
    bottom.set_ylim(0, max(1.0, float(np.nanmax(on_duty))) * 1.3)
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    bottom.set_ylabel("agents", color=TEXT_COLOR)
    bottom.legend(loc="upper left", fontsize=8, frameon=False, ncol=len(duty) + 1)
    locator = AutoDateLocator(minticks=4, maxticks=10)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    bottom.set_xlim(x[0], x[-1])
    markers = [ax.axvline(x[0], color=TEXT_COLOR, linewidth=1.2, animated=True) for ax in (top, bottom)]

    bars, texts = [], []
    for ax, names, colors in ((queue_now, ("reply", "resolution"), (ACK_COLOR, RESOLVE_COLOR)),
                              (staff_now, ("busy", "on duty"), (BUSY_COLOR, "#666666"))):
        bars += list(ax.bar(range(2), [0, 0], color=colors, width=0.6, animated=True))
        texts += [ax.text(k, 0, "", ha="center", va="bottom", fontsize=9, color=TEXT_COLOR, animated=True)
                  for k in range(2)]
        ax.set_xlim(-0.6, 1.6)
        ax.set_xticks(range(2))
        ax.set_xticklabels(names, fontsize=8.5)
        ax.tick_params(axis="y", labelleft=False)
    queue_now.set_title("now: waiting for", fontsize=9.5, color="#555555")
    staff_now.set_title("now: agents", fontsize=9.5, color="#555555")
    moving = [title, ack_line, res_line, *markers, *bars, *texts]

    def draw(k: int) -> None:
        for line, values in ((ack_line, ack), (res_line, res)):
            line.set_data(x[:k + 1], values[:k + 1])
        for marker in markers:
            marker.set_xdata([x[k], x[k]])
        for bar, text, value in zip(bars, texts, (ack[k], res[k], busy[k], on_duty[k])):
            value = float(np.nan_to_num(value))
            bar.set_height(value)
            text.set_position((text.get_position()[0], value))
            text.set_text(f"{value:.0f}" if value >= 10 else f"{value:.1f}")
        when = info.start + timedelta(minutes=float(time[k]))
        title.set_text(f"{info.name}, replication {replication}: {WEEKDAYS[when.weekday()]} {when:%d %b %H:%M}")

    frames = frame_indices(n, max_frames)
    out.parent.mkdir(parents=True, exist_ok=True)
    if writer is not None:   # MP4: ffmpeg takes whole redrawn frames
        for artist in moving:
            artist.set_animated(False)
        with writer.saving(fig, str(out), DPI):
            for k in frames:
                draw(int(k))
                writer.grab_frame()
        return len(frames)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    images = []
    for k in frames:
        draw(int(k))
        canvas.restore_region(background)
        for artist in moving:
            fig.draw_artist(artist)
        images.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()))
    _save_gif(images, out, fps)
    return len(frames)


def _save_gif(images: list, out: Path, fps: int) -> None:
    """Frames as one GIF sharing one palette (fast, small, the same bytes each time), made from
    a few frames spread over the run so every moving colour is in it."""
    picks = [images[i] for i in sorted({0, len(images) // 3, 2 * len(images) // 3, len(images) - 1})]
    sheet = Image.new("RGB", (picks[0].width, picks[0].height * len(picks)))
    for k, im in enumerate(picks):
        sheet.paste(im, (0, k * im.height))
    palette = sheet.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:],
                   duration=round(1000 / fps), loop=0, optimize=False)


__all__ = ["AnimationError", "MAX_FRAMES", "animate_queue", "frame_indices"]
