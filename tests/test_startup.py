"""Start-up: the home page runs without importing TensorFlow (about half the first page's
time); the model pages and a drop import it when they need it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# In a fresh interpreter: the home page run by AppTest, the background warm-up held back
# (it would import TensorFlow on purpose once the page is shown), then what was imported.
PROBE = """
import json, sys
import dxui.server
dxui.server._warm_up_started.set()
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({app!r}, default_timeout=60).run()
print(json.dumps({{"exception": [str(e.value) for e in app.exception],
                  "title": [t.value for t in app.title],
                  "uploader": len(app.file_uploader),
                  "imported": sorted(m for m in ("tensorflow", "keras") if m in sys.modules)}}))
"""


def test_home_page_runs_without_importing_tensorflow():
    out = subprocess.run([sys.executable, "-c", PROBE.format(app=str(ROOT / "app.py"))],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"exception": [], "title": ["Dx dashboard"], "uploader": 1, "imported": []}


def test_importing_dxcore_and_listing_cards_imports_no_tensorflow():
    code = ("import sys; from dxcore import list_cards; import dxcore.intake, dxui.drop; "
            "list_cards(); print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_every_shipped_model_loads_in_a_fresh_process():
    """Nothing a model needs to load (a custom layer's registration) may depend on what an
    earlier test, a recipe or a page happened to import."""
    code = ("import json; from dxcore import get_model, list_cards\n"
            "loaded = {}\n"
            "for card in list_cards():\n"
            "    model = get_model(card.id)\n"
            "    model.load(); _ = model.network\n"
            "    loaded[card.id] = model.network.count_params()\n"
            "print(json.dumps(loaded))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(loaded) >= {"cxr-pneumonia", "ecg-beats", "heart-disease", "ckd",
                           "leukemia-golub"}
    assert all(count > 0 for count in loaded.values())
