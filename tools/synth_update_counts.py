"""Refresh the set sizes in tests/bench/results/synth.json/.md without re-timing (the timings stay as measured).

    .venv/bin/python tools/synth_update_counts.py [/work/data/synth]
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "bench"))

from common import RESULTS, write_results  # noqa: E402

from face_addon.core.dataset import complete_seeds  # noqa: E402

data = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/data/synth")
res = json.loads((RESULTS / "synth.json").read_text())
for key in ("commit", "date", "machine", "python", "command"):
    res.pop(key, None)
sizes = {name: len(complete_seeds(data / name)) for name in ("train", "test", "test_full")}
res.update(train_n=sizes["train"], test_n=sizes["test"], test_full_n=sizes["test_full"])
table = (f"| profile | s / sample | samples timed |\n|---|---|---|\n"
         f"| scan (150k-vertex scan + labels) | {res['s_per_sample_scan']:.1f} | {len(res['scan_times_s'])} |\n"
         f"| full (13 views 512 px 16 spp + scan + baked colours) | {res['s_per_sample_full']:.1f} | "
         f"{len(res['full_times_s'])} |\n\n"
         f"Generated sets ({data}, not in git; generation still running in the background when written): train "
         f"{sizes['train']} (scan profile, seeds 0+), test {sizes['test']} (scan, seeds 1000000-1000249), "
         f"test_full {sizes['test_full']} (full, seeds 1000000-1000029).")
write_results("synth", res, table, "tests/bench/bench_synth.py  (counts: tools/synth_update_counts.py)")
print(sizes)
