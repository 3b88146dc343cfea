"""The README's claims about what a plain install runs are true: the sentence "Everything above works after
the Quickstart install (a), except ..." names every feature that needs an extra the plain install leaves
out, each with the extra that provides it (checked against pyproject.toml and the imports in src/), and
the `--db` sentence names exactly the commands that take no `--db`."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
# Extras no README command needs: the test suite's, and lm-eval for bench/parity_lm_eval.py (run by hand).
NOT_FOR_COMMANDS = {"test": "the test suite", "parity": "bench/parity_lm_eval.py only"}
# Import name → distribution name, where they differ.
DISTRIBUTION = {"llama_cpp": "llama-cpp-python", "sklearn": "scikit-learn", "lm_eval": "lm-eval", "yaml": "pyyaml"}
# Packages installed as dependencies of a declared one (imported directly in src/).
COMES_WITH = {"click": "typer", "starlette": "fastapi", "multidict": "aiohttp", "yarl": "aiohttp", "markupsafe": "jinja2",
              # not a dependency at all: a YAML task with `dataset: {hf: NAME}` asks for it by name (one line)
              "datasets": "nothing (yaml_data.py)"}
# The module whose imports make each README exception need its extra (`--db postgresql://` picks SQLAlchemy's
# psycopg driver in the store, by URL, with no import statement).
FEATURE_MODULE = {
    "assay serve": "assay/cli_commands/serve.py",
    "llamacpp:": "assay/models/llamacpp.py",
    "vllm:": "assay/models/vllm_backend.py",
    "--executor ray": "assay/executors/ray_pool.py",
    "assay contamination --method minhash": "assay/contamination/minhash.py",
    "--labels": "assay/contamination/membership.py",
}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()


def _plain_install_extras() -> set[str]:
    script = (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8")
    # The editable install on the line after the `else` of `if --dev`: the plain install's extras.
    found = re.search(r"^else\n\s*\S+ -e \"\.\[([a-z,]+)\]\"", script, flags=re.M)
    assert found, script
    return set(found.group(1).split(","))


def _exceptions() -> list[tuple[str, str]]:
    """(feature, extra) for each item of the README's exceptions list."""
    sentence = README.split("Everything above works after the Quickstart install (a), except:", 1)[1]
    sentence = sentence.split("`.\n", 1)[0].split("`. ", 1)[0] + "`"
    items = []
    for item in sentence.split(";"):
        spans = re.findall(r"`([^`]+)`", item)
        extras = [m for span in spans for m in re.findall(r"\.\[([a-z]+)\]", span)]
        features = [span for span in spans if ".[" not in span]
        assert extras and features, f"README exception without a feature and an extra: {item!r}"
        items += [(feature, extras[0]) for feature in features]
    return items


def _imported_top_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _distributions(names: set[str]) -> set[str]:
    return {DISTRIBUTION.get(name, name).lower() for name in names}


def test_the_exceptions_list_is_parsed() -> None:
    features = dict(_exceptions())
    assert features["assay serve"] == "web" and features["--executor ray"] == "ray", features


def test_each_named_feature_needs_the_extra_it_names() -> None:
    for feature, extra in _exceptions():
        assert extra in EXTRAS, f"README names .[{extra}], which pyproject.toml does not define"
        provided = {_requirement_name(r) for r in EXTRAS[extra]}
        if feature.startswith("--db postgresql"):
            assert "postgresql+psycopg" in (ROOT / "src/assay/store/repository.py").read_text(encoding="utf-8")
            assert "psycopg" in provided
            continue
        assert feature in FEATURE_MODULE, f"README exception {feature!r}: add the module that needs .[{extra}]"
        imported = _distributions(_imported_top_names(ROOT / "src" / FEATURE_MODULE[feature]))
        assert imported & provided, f"{feature}: {FEATURE_MODULE[feature]} imports nothing from .[{extra}] {provided}"


def test_every_extra_a_command_needs_is_named() -> None:
    plain = _plain_install_extras()
    assert plain == {"local"}, plain
    named = {extra for _, extra in _exceptions()}
    needed = set(EXTRAS) - plain - set(NOT_FOR_COMMANDS)
    assert needed <= named, f"extras a command needs that the README's exceptions do not name: {sorted(needed - named)}"


def test_every_optional_package_src_imports_is_in_a_named_extra() -> None:
    core = {_requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    plain = {_requirement_name(r) for extra in _plain_install_extras() for r in EXTRAS[extra]}
    named = {_requirement_name(r) for _, extra in _exceptions() for r in EXTRAS[extra]}
    # parity.py serves bench/parity_lm_eval.py only (no command)
    allowed_elsewhere = {_requirement_name(r) for r in EXTRAS["parity"]}
    stdlib = set(sys.stdlib_module_names)
    problems = []
    for path in (ROOT / "src" / "assay").rglob("*.py"):
        third_party = {name for name in _imported_top_names(path) if name not in stdlib and name != "assay"}
        missing = _distributions(third_party) - core - plain - named - allowed_elsewhere - set(COMES_WITH)
        problems += [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(missing)]
    assert not problems, f"imports from no core package and no extra the README names: {problems}"


def test_the_db_sentence_names_exactly_the_commands_without_db() -> None:
    import typer

    from assay.cli import app

    without_db = set()

    def walk(command, prefix: list[str]) -> None:  # noqa: ANN001 (click's command types)
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*prefix, name])
        elif not any("--db" in getattr(p, "opts", ()) for p in command.params):
            without_db.add(" ".join(prefix))

    walk(typer.main.get_command(app), [])
    sentence = README.split("Every command that reads or stores runs takes `--db URL`", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([a-z][a-z -]*)`", sentence.split("store nothing", 1)[0]))
    assert named == without_db, (named, without_db)


def test_auroc_without_scikit_learn_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.contamination.membership import auroc_with_ci
    from assay.errors import AssayError

    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)  # as if not installed
    with pytest.raises(AssayError, match=r"pip install 'assay\[contamination\]'"):
        auroc_with_ci([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
