"""Figures from plain data: the telemetry panels start where the physics does, and a frame
that failed parity never lends its values to a plot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from groundstation.outputs.figures import (
    TELEMETRY_PANELS,
    TelemetrySeries,
    spare_telemetry_grid,
    telemetry_figure,
    write_telemetry_png,
)

T0 = datetime(1962, 11, 4, 9, 12, 30, tzinfo=UTC)


def _series(pressures_mpa: list[float], parity: list[bool]) -> TelemetrySeries:
    times = [T0 + timedelta(seconds=4 * i) for i in range(len(pressures_mpa))]
    values = [
        {"n2_pressure_a_mpa": p, "n2_pressure_b_mpa": p, "battery_v": 27.8, "command_count": 3}
        for p in pressures_mpa
    ]
    return TelemetrySeries.from_frames(times, values, parity)


def _axes(fig, title: str):
    return next(ax for ax in fig.axes if ax.get_title().startswith(title))


def test_an_empty_bottle_reads_zero_on_an_axis_that_starts_at_zero() -> None:
    fig = telemetry_figure(_series([0.0, 0.0, 0.0], [True, True, True]))
    lo, hi = _axes(fig, "N₂ bottle pressure").get_ylim()
    assert lo == 0.0 and hi >= 2.0
    # a full bottle too: the axis starts at 0 MPa, so a fall reads as the fraction it is
    lo, hi = _axes(telemetry_figure(_series([7.25, 7.0], [True, True])), "N₂").get_ylim()
    assert lo == 0.0 and hi > 7.25
    # a counter holding still is never shown below zero
    lo, _ = _axes(fig, "Commands received").get_ylim()
    assert lo >= 0.0


def test_frames_that_failed_parity_are_not_plotted() -> None:
    # the failed frame carries a wild value: it must not appear on any line
    series = _series([7.0, 99.0, 7.0], [True, False, True])
    fig = telemetry_figure(series, title="t")
    ax = _axes(fig, "N₂ bottle pressure")
    plotted = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in ax.lines])
    assert 99.0 not in plotted
    assert ax.get_ylim()[1] < 99.0
    assert "2 of 3 frames passed parity" in fig.get_suptitle()
    assert "1 that failed" in fig.get_suptitle()


def test_parity_counts_only_as_a_bool() -> None:
    series = _series([7.0, 7.0, 7.0], [True, "true", np.bool_(True)])  # type: ignore[list-item]
    assert series.parity_ok.tolist() == [True, False, True]


def test_every_panel_names_channels_of_the_icd() -> None:
    from signals.formats.tlm import CHANNEL_BY_NAME

    for panel in TELEMETRY_PANELS:
        assert all(c in CHANNEL_BY_NAME for c in panel.channels), panel.title


def test_no_legend_hides_a_plotted_point() -> None:
    # Values that rise in the middle of the pass and fill the panel, the case where a legend
    # placed at the "best" spot still landed on a point (radiation counters of a contact).
    n = 6
    times = [T0 + timedelta(seconds=4 * i) for i in range(n)]
    bump = [9.0, 16.0, 10.0, 17.0, 11.0, 8.0]
    values = [
        {
            "gas_discharge_cps": float(i % 3),
            "scintillation_cps": bump[i],
            "temp_orbital_c": 21.0 - i % 2,
            "temp_experiment_c": 15.0 + bump[i] / 10,
            "temp_radiator_c": 11.0,
            "mag_x_nt": 0.3,
            "mag_y_nt": -2.6 + bump[i] / 20,
            "mag_z_nt": -2.4,
            "battery_a": 3.3,
            "solar_array_a": 5.5 + bump[i] / 100,
            "n2_pressure_a_mpa": 0.0,
            "n2_pressure_b_mpa": 14.4,
        }
        for i in range(n)
    ]
    fig = telemetry_figure(TelemetrySeries.from_frames(times, values, [True] * n))
    fig.canvas.draw()  # lay the legends out
    checked = 0
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        # each label fits inside its panel
        assert ax.get_window_extent().contains(box.x0, box.y0), ax.get_title()
        assert ax.get_window_extent().contains(box.x1, box.y1), ax.get_title()
        for line in ax.lines:
            xy = ax.transData.transform(np.column_stack(line.get_data()).astype(float))
            assert not any(box.contains(x, y) for x, y in xy), ax.get_title()
        checked += 1
    assert checked == sum(len(p.channels) > 1 for p in TELEMETRY_PANELS)


def _true_from_call(number: int):
    calls = iter(range(1, 1000))
    return lambda: next(calls) >= number


def _png(path) -> bytes:
    return path.read_bytes()


def test_a_plot_on_a_grid_made_ahead_is_the_plot_drawn_alone(tmp_path) -> None:
    """Tick objects made before the data is there change no pixel, no byte: whether a panel
    shows fewer ticks than were made, more (made when drawn), fixed labels (the attitude
    mode), no data, or frame numbers instead of times."""
    rng = np.random.default_rng(7)
    n = 300
    times = [T0 + timedelta(seconds=4 * i) for i in range(n)]
    values = [
        {
            "battery_v": 20.0 + 12.0 * rng.random(),
            "n2_pressure_a_mpa": 15.0 * rng.random(),
            "temp_orbital_c": rng.normal(0.0, 50.0),
            "micrometeoroid_hits": int(i * 50),
            "attitude_mode": int(rng.integers(0, 4)),
            "command_count": i // 7,
        }
        for i in range(n)
    ]
    parity = [bool(rng.random() > 0.02) for _ in range(n)]
    series = [
        TelemetrySeries.from_frames(times, values, parity),
        TelemetrySeries.from_frames([None] * n, values, parity),  # frame numbers
        _series([0.0, 0.0, 0.0], [True, False, True]),
        TelemetrySeries.from_frames(times[:1], values[:1], [False]),  # nothing passed
    ]
    for number, s in enumerate(series):
        alone = write_telemetry_png(tmp_path / f"alone{number}.png", s, "t")
        ahead = write_telemetry_png(
            tmp_path / f"ahead{number}.png", s, "t", grid=spare_telemetry_grid()
        )
        assert _png(ahead) == _png(alone), number
        # a figure comes while the fourth panel's ticks are made
        part = spare_telemetry_grid(until=_true_from_call(4))
        assert len(part.axes[1, 0].yaxis.majorTicks) < len(part.axes[0, 0].yaxis.majorTicks)
        partly = write_telemetry_png(tmp_path / f"partly{number}.png", s, "t", grid=part)
        assert _png(partly) == _png(alone), number
