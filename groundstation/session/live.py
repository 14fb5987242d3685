"""``contact --live``: the session played through ``transmit`` and ``listen`` at once, shown
on a page as it happens.

In: the session's plan and commands, its downlinks (one per band, each band with its own
generator so that they stream side by side), the pace. Out: a page served on 127.0.0.1
(:mod:`groundstation.live.page`) fed with the session's facts, the margins and the command
log, then each band's waterfall and every frame, image line and carrier estimate as its
receiver decides it; the recordings of what each ``listen`` received, from which ``contact``
writes its usual session folder and report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from groundstation.io.recording import format_utc
from groundstation.live.air import play_through_air
from groundstation.live.bus import LiveBus
from groundstation.live.page import LiveServer, serve
from groundstation.outputs import records
from groundstation.results import CommandOutcome
from signals.bands import load_bands
from signals.spacecraft.downlinks import Downlink

#: What each kind of band carries, for the page.
CARRIES = {
    "telemetry": "telemetry",
    "ppm": "images (pulse position)",
    "carrier": "coherent carrier (Doppler)",
    "uplink": "commands",
}


class LiveSession:
    """A live contact's page and its air stage (``run_session``'s ``air`` hook).

    Parameters
    ----------
    speed : float or None
        Times real time; None as fast as the receivers take it.
    host, port : str, int
        Where the page is served (port 0: one the system picks).
    """

    def __init__(self, speed: float | None, host: str = "127.0.0.1", port: int = 0):
        self.speed = speed
        self.bus = LiveBus()
        self.server: LiveServer | None = None
        self._host, self._port = host, port

    def start(self) -> str:
        """Serve the page (the session's facts follow on the feed); return its address."""
        self.server = serve(self.bus, "live contact", {}, self._host, self._port)
        return self.server.url

    def air(
        self,
        downlinks: dict[str, Downlink],
        folder: Path,
        plan: Any,
        commands: list[CommandOutcome],
        spacecraft_log: list[str],
    ) -> dict[str, Path]:
        """Publish the session's facts, then transmit and listen to every band at once.

        Returns the recording of what each band's listen received (bands whose listen
        failed are left out: ``contact`` reports them lost).
        """
        bands, _ = load_bands()
        entries = []
        for band_id, budget in plan.budgets.items():
            band = bands[band_id]
            if band.direction != "down":
                continue
            downlink = downlinks.get(band_id)
            margin = float(budget.margin_db)
            entries.append(
                {
                    "band": band_id,
                    "what": f"{CARRIES.get(band.kind, band.kind)}, {band.carrier_hz / 1e6:.2f} MHz",
                    "margin_db": round(margin, 1) if math.isfinite(margin) else -99.0,
                    "fs_hz": downlink.fs_hz if downlink else 8000.0,
                    "transmitted": downlink is not None,
                }
            )
        title, facts = page_facts(plan)
        self.bus.publish(
            {
                "kind": "session",
                "title": title,
                "facts": facts,
                "bands": entries,
                "commands": [records.command_record(c) for c in commands],
            }
        )
        for line in spacecraft_log:
            time_text, _, text = line.partition(" ")
            self.bus.publish({"kind": "log", "t_utc": time_text, "text": text})
        received = play_through_air(downlinks, folder, speed=self.speed, bus=self.bus)
        for band_id, band in received.items():
            if band.error:
                self.bus.publish({"kind": "log", "t_utc": "", "text": f"{band_id}: {band.error}"})
        return {b: r.meta_path for b, r in received.items() if r.outcome is not None}

    def finish(self, summary: str, report: str) -> None:
        """Tell the pages the session is over (they stop listening) and stop serving."""
        self.bus.publish({"kind": "end", "summary": summary, "report": report})
        if self.server is not None:
            self.server.stop()


def page_facts(plan: Any) -> tuple[str, dict[str, str]]:
    """The page's title and header facts from a session plan."""
    title = f"session {plan.number or '-'}, {format_utc(plan.start_utc)[:16].replace('T', ' ')} UTC"
    facts = {
        "range": f"{plan.range_km / 1e6:.3f} million km",
        "light time": f"{plan.light_time_s:.1f} s",
        "elevation at Yevpatoria": f"{plan.elevation_deg:.0f}\u00b0",
        "scenario": plan.scenario,
    }
    return title, facts
