"""The one-file examples of docs/architecture.md are real: each is read from the doc, written to a temporary
folder and run as the doc says (a task, a backend, a judge rubric, a web page), so the doc cannot rot."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
_FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```", re.DOTALL)


def doc_files() -> dict[str, str]:
    """Doc path → the complete file the doc shows for it."""
    return {name: body for name, body in _FILE_BLOCK.findall(DOC.read_text(encoding="utf-8"))}


def _write(folder: Path, name: str) -> Path:
    path = folder / Path(name).name
    path.write_text(doc_files()[name], encoding="utf-8")
    return path


def _registry_lines() -> list[str]:
    """The two lines the doc says to add to models/registry.py (comments removed)."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("with, in `models/registry.py`:", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip().rstrip(",") for line in block.splitlines() if line.strip()]


def _python(script: str, *args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                            timeout=180, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_every_example_is_found() -> None:
    assert set(doc_files()) == {"capitals.yaml", "capitals.jsonl", "src/assay/tasks/builtin/count_words.py",
                                "src/assay/models/lastline.py", "brevity.yaml", "src/assay/web/model_counts.py",
                                "src/assay/web/templates/model_counts.html"}
    assert len(_registry_lines()) == 2


def test_yaml_task_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assay.cli import main

    task = _write(tmp_path, "capitals.yaml")
    _write(tmp_path, "capitals.jsonl")
    main(["run", "--task", str(task), "--model", "scripted:echo", "--db", f"sqlite:///{tmp_path / 'a.db'}",
          "--no-progress"])
    out = capsys.readouterr().out
    assert "capitals" in out and "exact_match" in out and "contains" in out and "run id:" in out


def test_python_task_example_registers_and_runs(tmp_path: Path) -> None:
    path = _write(tmp_path, "src/assay/tasks/builtin/count_words.py")
    out = _python("""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("assay.tasks.builtin.count_words", sys.argv[1])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        from assay.cli import main
        main(["run", "--task", "count_words", "--model", "scripted:constant=5", "--db", sys.argv[2], "--no-progress"])
    """, str(path), f"sqlite:///{tmp_path / 'a.db'}", cwd=tmp_path)
    assert "count_words" in out and "exact_match" in out and "abs_error" in out
    assert "n_samples" in out and "20" in out


def test_backend_example_loads_through_the_registry_and_runs(tmp_path: Path) -> None:
    path = _write(tmp_path, "src/assay/models/lastline.py")
    out = _python("""
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("assay.models.lastline", sys.argv[1])
        module = importlib.util.module_from_spec(spec)
        sys.modules["assay.models.lastline"] = module
        spec.loader.exec_module(module)
        from assay.models import registry
        from assay.models.model_args import POSITIVE_INT
        backends, options = json.loads(sys.argv[3])
        registry.BACKENDS.update(eval("{" + backends + "}"))
        registry.BACKEND_OPTIONS.update(eval("{" + options + "}", {"POSITIVE_INT": POSITIVE_INT}))
        from assay.cli import main
        main(["run", "--model", "lastline:x", "--model-args", "max_context=2048", "--task", "arith,arith_mc",
              "--limit", "3", "--db", sys.argv[2], "--no-progress"])
    """, str(path), f"sqlite:///{tmp_path / 'a.db'}", json.dumps(_registry_lines()), cwd=tmp_path)
    assert "arith_mc" in out and "acc" in out and "run id:" in out


def test_judge_rubric_example_grades_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assay.cli import main

    rubric = _write(tmp_path, "brevity.yaml")
    rules = tmp_path / "judge.rules.json"
    rules.write_text(json.dumps([{"match": "brevity", "answer": '{"score": 4, "reason": "short"}'}]), encoding="utf-8")
    db = ["--db", f"sqlite:///{tmp_path / 'a.db'}", "--no-progress"]
    main(["run", "--model", "scripted:echo", "--task", "arith", "--limit", "2", *db])
    run_id = re.search(r"^run id: (\w+)", capsys.readouterr().out, flags=re.M).group(1)
    main(["judge", run_id, "--judge", f"scripted:judge={rules}", "--rubric", str(rubric), *db])
    out = capsys.readouterr().out
    assert "rubric_score" in out and "4" in out and "judge run id:" in out


def test_web_page_example_serves_page_and_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("fastapi", reason="the web extra")
    import importlib.util

    from fastapi.testclient import TestClient

    from assay.cli import main
    from assay.web import create_app
    from assay.web.rendering import TEMPLATE_DIR

    db = f"sqlite:///{tmp_path / 'a.db'}"
    main(["run", "--model", "scripted:echo", "--task", "arith", "--limit", "2", "--db", db, "--no-progress"])
    capsys.readouterr()
    spec = importlib.util.spec_from_file_location("example_model_counts", _write(tmp_path, "src/assay/web/model_counts.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The template goes where the doc puts it, for this test only.
    template = TEMPLATE_DIR / "model_counts.html"
    assert not template.exists(), "the example page exists for real: test that one instead"
    template.write_text(doc_files()["src/assay/web/templates/model_counts.html"], encoding="utf-8")
    try:
        app = create_app(db)
        app.include_router(module.router)
        client = TestClient(app)
        assert client.get("/api/models").json() == [{"model": "scripted:echo", "runs": 1}]
        page = client.get("/models")
        assert page.status_code == 200 and "<h1>Models</h1>" in page.text and "scripted:echo" in page.text
    finally:
        template.unlink()
