"""A real scorer registered with its pyfunc flavour scores the same through MLflow and leadops' files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from leadops.registry import Registry, load_artifact_dir

SPEC = {
    "type": "points",
    "base": 10,
    "rules": [
        {"feature": "visits", "when": {"gte": 3}, "points": 20},
        {"feature": "level", "when": {"equals": "vp"}, "points": 15},
    ],
}
LEADS = pd.DataFrame({"visits": [1, 5, 3, 0, 9], "level": ["vp", "ic", "vp", "ic", "vp"]})

CHILD = r"""
import json, pickle, sys
events = []
sys.addaudithook(lambda name, args: events.append(name) if name.startswith("pickle.") else None)
import pandas as pd
from leadops.config import load
from leadops.registry import load_artifact_dir
from leadops.scorers import load_scorer
scores = load_scorer(load_artifact_dir(load(sys.argv[1]), "champion")).score(pd.read_json(sys.stdin))
result = {"scores": scores["score"].tolist(), "mlflow": "mlflow" in sys.modules, "pickle_events": events}
print(json.dumps(result))
"""


@pytest.mark.slow
def test_pyfunc_and_plain_files_give_identical_scores_in_another_process(
    registry: Registry, workspace: Path, tmp_path: Path, lineage_for: Any
) -> None:
    import mlflow.pyfunc

    from leadops.scorers import build_scorer

    scorer = build_scorer(SPEC)
    scorer.fit(LEADS)
    expected = scorer.score(LEADS)["score"].tolist()
    artifact = scorer.save(tmp_path / "points")
    report = tmp_path / "report.html"
    report.write_text("<html><body>report</body></html>")
    version = registry.log_training(
        "points", artifact, params=SPEC, metrics={"auc": 0.5}, lineage=lineage_for(5), report_path=report
    )
    assert version.tags["leadops.pyfunc"] == "true" and version.report == "report/report.html"
    assert version.lineage["manifest_feature_names"] == ["visits", "level"]
    registry.promote("points", gates_passed=True, gate_detail={}, force=False, reason=None, actor="ana")

    served = mlflow.pyfunc.load_model(f"models:/{registry.model_name}@champion")
    assert served.predict(LEADS)["score"].tolist() == expected
    model_dir = Path(mlflow.artifacts.download_artifacts(version.source, dst_path=str(tmp_path / "served")))
    assert not list(model_dir.rglob("*.pkl"))  # logged as model-from-code: nothing to unpickle even there

    load_artifact_dir(registry.settings, "champion")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADOPS_")}
    env["LEADOPS_REGISTRY__MODEL_NAME"] = registry.model_name
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(workspace)],
        input=LEADS.to_json(),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child == {"scores": expected, "mlflow": False, "pickle_events": []}
