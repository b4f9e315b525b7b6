"""The HTML page as a person sees it: headless Chromium renders it to a non-blank screenshot.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); CI's setup installs it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xstilts.report import write_report_frame

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1280, 2000


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent: install Debian's chromium (apt-get install -y chromium)",
)
def test_page_renders_in_headless_chromium(tmp_path: Path, full_frame: pd.DataFrame) -> None:
    from PIL import Image

    written = write_report_frame(
        full_frame, tmp_path / "report", config={"model": "xlmr-base"}, source="demo"
    )
    shot = tmp_path / "shot.png"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        written["report.html"].resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert shot.is_file(), f"no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}"
    with Image.open(shot) as im:
        assert im.size == (WIDTH, HEIGHT)
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 200, "page looks blank or flat"
        px = np.asarray(rgb, dtype=np.int16)
    non_white = (px.min(axis=2) < 235).mean()
    assert non_white > 0.05, f"page is (almost) all white ({non_white:.1%} ink)"
    # the dark header band is drawn at the top: the inline CSS was applied
    assert px[10, WIDTH - 20].max() < 80, f"header not styled: {px[10, WIDTH - 20]}"
    # the embedded figures were decoded: saturated blue (heatmap, bars) appears on the page
    blue = (px[..., 2] > 150) & (px[..., 0] < 80)
    assert blue.sum() > 500, "no figure colours rendered"
