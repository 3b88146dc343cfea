"""Plugins by entry point (assay.plugins).

The acceptance tests install the real packages in this folder with `pip install -e` into a throwaway
environment (a venv in tmp that also sees the running interpreter's packages), never into the shared one, and run
assay there as a user would: `assay list`, `assay run`, `assay judge` and `assay.evaluate`. `assay-plugin-demo`
works; every entry point of `assay-plugin-broken` is broken in its own way, so each test also checks that a
broken plugin costs one line on stderr and nothing else. The loader's logic is tested alone with fake entry
points."""

from __future__ import annotations

import importlib
import json
import os
import site
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assay.errors import AssayError
from assay.models.model_args import POSITIVE_INT
from assay.plugins import (
    PluginPackage,
    PluginRefused,
    adopt_backend,
    adopt_judge_prompt,
    adopt_task,
    load_group,
)

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"
DOC = HERE.parents[1] / "docs" / "plugins.md"
DEMO = "assay-plugin-demo 0.1.0"
BROKEN = "assay-plugin-broken 0.0.1"


# ---- the loader's logic, with fake entry points ----------------------------------------------------------------

@dataclass
class FakeDist:
    name: str
    version: str


@dataclass
class FakeEntryPoint:
    """What load_group reads of an importlib.metadata.EntryPoint."""

    name: str
    value: str
    group: str = "assay.tasks"
    dist: FakeDist | None = None

    @property
    def module(self) -> str:
        return self.value.partition(":")[0]

    def load(self) -> Any:
        module, _, attribute = self.value.partition(":")
        return getattr(importlib.import_module(module), attribute)


@pytest.fixture()
def fake_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("fake_plugin")

    def factory(variant: str | None) -> Any:
        """a fake task"""
        return object()

    def load(rest: str, **options: Any) -> Any:
        """fake:REST — a fake backend"""
        return None

    module.factory, module.load, module.NUMBER = factory, load, 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_plugin", module)
    return module


def test_a_broken_entry_point_is_one_problem_and_the_others_load(fake_module: types.ModuleType) -> None:
    one, two = FakeDist("pkg-one", "1.0"), FakeDist("pkg-two", "2.0")
    found = [
        FakeEntryPoint("good", "fake_plugin:factory", dist=one),
        FakeEntryPoint("missing_module", "no_such_plugin_module:factory", dist=one),
        FakeEntryPoint("missing_attribute", "fake_plugin:nothing", dist=two),
        FakeEntryPoint("not_callable", "fake_plugin:NUMBER", dist=two),
        FakeEntryPoint("arith", "fake_plugin:factory", dist=two),
        FakeEntryPoint("good", "fake_plugin:factory", dist=two),
        FakeEntryPoint("bad:name", "fake_plugin:factory", dist=two),
    ]
    plugins, problems = load_group(found, adopt_task, reserved={"arith"},
                                   name_problem=lambda name: "bad name" if ":" in name else None)
    assert [(p.name, p.package, p.description) for p in plugins] == [("good", PluginPackage("pkg-one", "1.0"), "a fake task")]
    why = {problem.entry_point: (problem.package, problem.problem) for problem in problems}
    assert why["missing_module"] == ("pkg-one 1.0",
                                     "cannot load it (ModuleNotFoundError: No module named 'no_such_plugin_module')")
    assert why["missing_attribute"][1].startswith("cannot load it (AttributeError:")
    assert why["not_callable"][1] == "expected a task factory (variant: str | None) -> Task, got int"
    assert why["arith"][1] == "'arith' is built into assay; a plugin cannot replace it"
    assert why["good"] == ("pkg-two 2.0", "'good' is already provided by pkg-one 1.0")
    assert why["bad:name"][1] == "bad name"
    assert len(problems) == 6
    line = next(p for p in problems if p.entry_point == "not_callable").line()
    assert line == ("assay: plugin pkg-two 2.0: entry point not_callable = 'fake_plugin:NUMBER' (assay.tasks): "
                    "expected a task factory (variant: str | None) -> Task, got int; skipped")


def test_a_plugin_task_factory_that_fails_is_a_one_line_error(fake_module: types.ModuleType) -> None:
    from assay.tasks.registry import _returning_a_task  # the check the task registry puts on every plugin factory

    adopted = adopt_task(FakeEntryPoint("fake", "fake_plugin:factory"), fake_module.factory)  # type: ignore[arg-type]
    build = _returning_a_task("fake", "(unknown package)", adopted)
    with pytest.raises(AssayError, match=r"^--task fake: the plugin \(unknown package\) returned object, not a Task$"):
        build(None)

    def failing(variant: str | None) -> Any:
        raise ValueError("no\ndata")

    build = adopt_task(FakeEntryPoint("fake", "fake_plugin:failing"), failing)  # type: ignore[arg-type]
    with pytest.raises(AssayError, match=r"^--task fake: the plugin \(unknown package\) failed \(ValueError: no data\)$"):
        build("x")


def test_backend_options_and_judge_prompts_are_checked(fake_module: types.ModuleType) -> None:
    entry_point = FakeEntryPoint("fake", "fake_plugin:load", group="assay.models")
    assert adopt_backend(entry_point, fake_module.load).options == {}  # type: ignore[arg-type]
    fake_module.OPTIONS = {"size": POSITIVE_INT}  # type: ignore[attr-defined]
    assert adopt_backend(entry_point, fake_module.load).options == {"size": POSITIVE_INT}  # type: ignore[arg-type]
    fake_module.OPTIONS = {"size": int}  # type: ignore[attr-defined]
    with pytest.raises(PluginRefused, match="fake_plugin.OPTIONS: expected a dict of option name"):
        adopt_backend(entry_point, fake_module.load)  # type: ignore[arg-type]
    with pytest.raises(PluginRefused, match="expected load"):
        adopt_backend(entry_point, 3)  # type: ignore[arg-type]
    judge = FakeEntryPoint("strict", "fake_plugin:NUMBER", group="assay.judges")
    assert adopt_judge_prompt(judge, "Grade {{ answer }}") == "Grade {{ answer }}"  # type: ignore[arg-type]
    with pytest.raises(PluginRefused, match="expected a judge prompt .* got int"):
        adopt_judge_prompt(judge, 3)  # type: ignore[arg-type]


# ---- the real packages, installed with pip -e into a throwaway environment -------------------------------------

@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment variables for running `python` of a throwaway venv holding the two plugin packages (editable),
    with this checkout's src first on the path and the running interpreter's packages visible (a .pth line)."""
    root = tmp_path_factory.mktemp("plugin-venv")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # addsitedir (not a bare path) so that the .pth files there run too (assay's own editable install).
    visible = "; ".join(f"site.addsitedir({path!r})" for path in site.getsitepackages())
    (purelib / "_assay_running_interpreter.pth").write_text(f"import site; {visible}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(SRC), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
           "NO_COLOR": "1", "COLUMNS": "250"}
    # Offline and fast: the build backend (setuptools) is the one assay's environment already has.
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    "-e", str(HERE / "assay_plugin_demo"), "-e", str(HERE / "assay_plugin_broken")],
                   check=True, env=env, cwd=root)
    yield {**env, "ASSAY_TEST_PYTHON": str(python), "ASSAY_TEST_ROOT": str(root)}


def _python(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([env["ASSAY_TEST_PYTHON"], *args], capture_output=True, text=True, env=env,
                          cwd=cwd or env["ASSAY_TEST_ROOT"], timeout=300)


def _assay(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return _python(env, "-m", "assay.cli", *args, cwd=cwd)


def _broken_lines(stderr: str) -> list[str]:
    lines = [line for line in stderr.splitlines() if line.startswith("assay: plugin ")]
    assert all(line.startswith(f"assay: plugin {BROKEN}: entry point ") and line.endswith("; skipped")
               for line in lines), stderr
    return lines


def test_assay_list_shows_plugin_tasks_and_backends_with_their_package(plugin_env: dict[str, str]) -> None:
    listed = _assay(plugin_env, "list", "tasks")
    assert listed.returncode == 0, listed.stderr
    assert f"plugin (1 tasks, from {DEMO})" in listed.stdout and "demo_task" in listed.stdout
    assert "builtin (2 tasks, from assay)" in listed.stdout
    # The broken package's task entry points, one line each: an import that fails, a built-in's name.
    lines = _broken_lines(listed.stderr)
    assert len(lines) == 2 and len(listed.stderr.splitlines()) == 2, listed.stderr
    assert any("entry point broken_import = 'assay_plugin_broken.no_such_module:factory' (assay.tasks): "
               "cannot load it (ModuleNotFoundError" in line for line in lines)
    assert any("entry point arith " in line and "'arith' is built into assay" in line for line in lines)
    tasks = {t["name"]: t for t in json.loads(_assay(plugin_env, "list", "tasks", "--json").stdout)}
    assert tasks["demo_task"]["package"] == DEMO and tasks["arith"]["package"] == "assay"
    assert tasks["demo_task"]["description"].startswith("capitals of five countries")

    models = _assay(plugin_env, "list", "models", "--json")
    assert models.returncode == 0, models.stderr
    backends = {b["name"]: b for b in json.loads(models.stdout)}
    assert backends["demo"]["package"] == DEMO and backends["demo"]["model_args"] == ["unknown"]
    assert backends["hf"]["package"] == "assay" and backends["hf"]["description"].startswith("hf:PATH")
    assert "broken" not in backends
    lines = _broken_lines(models.stderr)
    assert any("entry point broken = 'assay_plugin_broken.entries:no_such_load' (assay.models): cannot load it "
               "(AttributeError" in line for line in lines)
    assert any("entry point hf " in line and "'hf' is built into assay; a plugin cannot replace it" in line
               for line in lines)
    assert DEMO in _assay(plugin_env, "list", "models").stdout


def test_the_plugin_task_runs_on_the_plugin_backend_through_the_cli(plugin_env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    ran = _assay(plugin_env, "run", "--model", "demo:capitals", "--task", "demo_task", "--db", str(db), "--limit", "3",
                 "--json")
    assert ran.returncode == 0, ran.stderr
    assert len(_broken_lines(ran.stderr)) == 4  # tasks and backends were read: each broken one said once
    result = json.loads(ran.stdout)
    exact = next(m for m in result["metrics"] if m["name"] == "exact_match")
    assert (exact["task"], exact["value"], exact["n"]) == ("demo_task", 1.0, 3)
    shown = json.loads(_assay(plugin_env, "show", result["id"], "--db", str(db), "--json").stdout)
    assert shown["manifest"]["packages"]["assay-plugin-demo"] == "0.1.0"
    # The plugin's options are checked like a built-in backend's.
    bad = _assay(plugin_env, "run", "--model", "demo:capitals", "--model-args", "size=3", "--task", "demo_task",
                 "--db", str(db))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines()[-1] == ("error: --model-args: unknown key 'size' for the demo backend; "
                                           "it takes unknown")
    wrong = _assay(plugin_env, "run", "--model", "demo:echo", "--model-args", "unknown=?", "--task", "demo_task",
                   "--db", str(db), "--limit", "2", "--json")
    assert wrong.returncode == 0, wrong.stderr
    assert next(m for m in json.loads(wrong.stdout)["metrics"] if m["name"] == "exact_match")["value"] == 0.0


def test_a_plugin_judge_prompt_is_chosen_by_name(plugin_env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    ran = _assay(plugin_env, "run", "--model", "demo:capitals", "--task", "demo_task", "--db", str(db), "--limit", "2",
                 "--json")
    run_id = json.loads(ran.stdout)["id"]
    # The judge answers only to the plugin's prompt ("strict grader"); the shipped template would get "".
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"match": "You are a strict grader", "answer": '{"score": 7, "reason": "right"}'}]))
    judged = _assay(plugin_env, "judge", run_id, "--judge", f"scripted:judge={rules}", "--template", "demo_strict",
                    "--db", str(db), "--json")
    assert judged.returncode == 0, judged.stderr
    # the judge prompts' group was read, with its one broken entry point (a number, not a template)
    assert any("entry point broken_prompt " in line and "expected a judge prompt" in line
               for line in _broken_lines(judged.stderr))
    out = json.loads(judged.stdout)
    assert out["judgments"] == 2
    score = next(m for m in out["metrics"] if m["name"] == "rubric_score")
    assert (score["task"], score["value"], score["n"]) == ("judge:demo_task", 7.0, 2)
    shown = json.loads(_assay(plugin_env, "show", out["id"], "--db", str(db), "--json").stdout)
    assert f"plugin:demo_strict ({DEMO})" in json.dumps(shown["manifest"])
    unknown = _assay(plugin_env, "judge", run_id, "--judge", f"scripted:judge={rules}", "--template", "nosuch",
                     "--db", str(db))
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[-1] == ("error: --template nosuch: no such file, and no plugin judge prompt of "
                                               "that name (plugin judge prompts: demo_strict)")


def test_the_plugin_task_and_backend_through_the_python_api(plugin_env: dict[str, str]) -> None:
    script = textwrap.dedent("""
        import assay
        run = assay.evaluate("demo:capitals", "demo_task", limit=3)
        row = next(m for m in run.metrics if m.name == "exact_match")
        print(row.task, row.value, row.n, run.manifest["packages"]["assay-plugin-demo"])
    """)
    done = _python(plugin_env, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["demo_task", "1.0", "3", "0.1.0"]


def _doc_commands() -> list[str]:
    """The `assay ...` lines of docs/plugins.md's fenced code blocks."""
    commands, in_fence = [], False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        elif in_fence and line.startswith("assay "):
            commands.append(line.strip())
    return commands


def test_the_commands_of_docs_plugins_md_run(plugin_env: dict[str, str], tmp_path: Path) -> None:
    """As the doc shows them, in a fresh folder (its assay.db); the judge is scripted instead of embedded."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"match": "strict grader", "answer": '{"score": 9, "reason": "right"}'}]))
    commands = _doc_commands()
    assert commands == ["assay list tasks", "assay list models",
                        "assay run --model demo:capitals --task demo_task --limit 3",
                        "assay judge RUN --judge embedded --template demo_strict"]
    run_id = ""
    for command in commands:
        words = command.split()[1:]
        if words[0] == "judge":
            words = [run_id if w == "RUN" else f"scripted:judge={rules}" if w == "embedded" else w for w in words]
        done = _assay(plugin_env, *words, cwd=tmp_path)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        if words[0] == "run":
            run_id = done.stdout.split("run id: ")[1].split()[0]
            assert "demo_task" in done.stdout
        if words[0] == "judge":
            # scored by the plugin's prompt: the scripted judge answers that prompt only
            assert "3 judgments stored" in done.stdout, done.stdout
            assert "9.0000" in next(line for line in done.stdout.splitlines() if "rubric_score" in line)
