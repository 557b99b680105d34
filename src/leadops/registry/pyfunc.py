"""The MLflow pyfunc flavour of a scorer, so MLflow's own tools (`mlflow models serve`) can serve it.

It is logged as "models from code": MLflow stores a three-line Python file instead of a cloudpickled
object, so even MLflow's serving path unpickles nothing. The model reads the scorer's plain files through
`leadops.scorers.load_scorer`. leadops' own batch and API paths never come through here (see loading.py).
Importing this module imports mlflow: only the registry's logging code and MLflow's loader import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.pyfunc import PythonModel

ARTIFACT_KEY = "scorer"
CODE_FILE = "leadops_scoring_model.py"
CODE = '''"""MLflow model-from-code entry point: the leadops scorer in the `scorer` artifact directory."""
from mlflow.models import set_model

from leadops.registry.pyfunc import LeadScoreModel

set_model(LeadScoreModel())
'''


class LeadScoreModel(PythonModel):
    """Serves a leadops scorer artifact: lead feature rows in, a frame with `score` (and grades) out."""

    def load_context(self, context: Any) -> None:
        """Load the scorer from its plain files (hash-verified, no pickle)."""
        from leadops.scorers import load_scorer

        self.scorer = load_scorer(Path(context.artifacts[ARTIFACT_KEY]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Score the rows given; MLflow passes a DataFrame for JSON/CSV requests."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        result: pd.DataFrame = self.scorer.score(frame)
        return result


def write_code(folder: Path) -> Path:
    """Write the model-from-code file into `folder` and return its path (what `python_model=` takes)."""
    path = folder / CODE_FILE
    path.write_text(CODE, encoding="utf-8")
    return path


def log(artifact_dir: Path, *, name: str = "pyfunc") -> Any:
    """Log the pyfunc model into the active MLflow run; returns MLflow's ModelInfo."""
    import tempfile

    import leadops

    with tempfile.TemporaryDirectory(prefix="leadops-pyfunc-") as tmp:
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(write_code(Path(tmp))),
            artifacts={ARTIFACT_KEY: str(artifact_dir)},
            pip_requirements=[f"leadops=={leadops.__version__}"],
        )
