"""Every image the README shows exists in the repository (docs/screenshots/ is committed)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_every_image_the_readme_names_exists():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))

    assert images, "the README shows the workbench, the configurator and the order page"
    assert [i for i in images if not (ROOT / i).is_file()] == []
    assert {"docs/screenshots/workbench-reviewer.png", "docs/screenshots/configurator.png",
            "docs/screenshots/order-page.png"} <= set(images)
