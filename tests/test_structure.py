"""The rooms of docs/architecture.md hold: imports go down the table, no two modules or top-level packages import each
other, `pipeline/` is the DAG only, and importing the light modules loads neither TFX nor TensorFlow.

A static scan of every import statement (lazy ones inside functions included), so a cycle that only bites on one
code path still fails here.
"""
import ast
import json
import os
import subprocess
import sys
from typing import Dict, List, Set, Tuple

import pytest

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Each room may import the rooms before it, never one after it (docs/architecture.md, "Rooms").
ROOMS = ("system", "results", "trainer", "report", "components", "pipeline", "kubeflow", "local_runner", "datasets",
         "cli")
RANK = {room: index for index, room in enumerate(ROOMS)}


def _module_name(path: str) -> str:
    relative = os.path.relpath(path, REPOSITORY)[:-len(".py")].split(os.sep)
    return ".".join(relative[:-1] if relative[-1] == "__init__" else relative)


def _source_files() -> Dict[str, str]:
    files = {}
    for room in ROOMS:
        if os.path.isfile(os.path.join(REPOSITORY, f"{room}.py")):
            files[room] = os.path.join(REPOSITORY, f"{room}.py")
        for folder, _, names in os.walk(os.path.join(REPOSITORY, room)):
            for name in names:
                if name.endswith(".py"):
                    files[_module_name(os.path.join(folder, name))] = os.path.join(folder, name)
    return files


def _imports(module: str, path: str, known: Set[str]) -> Set[str]:
    """The project modules `module` imports, anywhere in its file."""
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:  # `from a.b import c` names module a.b.c, or a.b's attribute c
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _import_graph() -> Dict[str, Set[str]]:
    files = _source_files()
    return {module: _imports(module, path, set(files)) for module, path in files.items()}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in graph.get(node, ()):
            if neighbour not in index:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _room(module: str) -> str:
    return module.split(".")[0]


def test_the_scan_finds_imports_and_cycles():
    graph = _import_graph()
    assert "pipeline.experiment" in graph["pipeline.pipeline"] and "trainer.config" in graph["pipeline.experiment"]
    assert "cli.run_command" in graph["cli.main"]  # a lazy import inside a function counts
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_back():
    assert _cycles(_import_graph()) == []


def test_no_top_level_package_imports_another_that_imports_it_back():
    packages: Dict[str, Set[str]] = {}
    for module, imported in _import_graph().items():
        packages.setdefault(_room(module), set()).update(_room(name) for name in imported if _room(name) != _room(module))
    assert _cycles(packages) == []


def test_imports_go_down_the_rooms():
    upward = sorted(f"{module} imports {name}" for module, imported in _import_graph().items() for name in imported
                    if RANK[_room(name)] > RANK[_room(module)])
    assert upward == []


def test_pipeline_holds_the_dag_and_its_configuration_only():
    modules = [module for module in _source_files() if _room(module) == "pipeline"]
    assert sorted(modules) == ["pipeline", "pipeline.evaluation", "pipeline.experiment", "pipeline.pipeline",
                               "pipeline.schema"]


def _loaded_after_importing(modules: str, watched: Tuple[str, ...]) -> List[str]:
    """Which of `watched` a fresh interpreter has loaded after `import MODULES`."""
    code = (f"import json, sys; import {modules}; "
            f"print(json.dumps(sorted(name for name in {watched!r} if name in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("modules", [
    "pipeline, components, trainer, results, datasets, report, kubeflow, cli",  # every package __init__
    "pipeline.experiment, trainer.config, trainer.training_record, kubeflow.options, cli.main",
    "results.selection, results.ingestion, results.paired_statistics, components.image_example_gen.ingestion_report",
])
def test_light_modules_load_neither_tfx_nor_tensorflow(modules):
    assert _loaded_after_importing(modules, ("tfx", "tensorflow", "tensorflow_transform", "keras", "tf_keras")) == []


def test_commands_start_without_tfx_v1_and_its_cloud_extensions():
    """`tfx.v1` imports every TFX extension, the Google Cloud SDKs among them: 9 s against 5.6 s for the modules we
    use, paid by every `gc-tfx run`, `gc-tfx report` and `gc-tfx kubeflow` (measured on 2 cores). The classes are
    the same objects, so our modules import them from where they live."""
    assert _loaded_after_importing("local_runner, cli.latest_run, kubeflow.compiler, kubeflow.task_entrypoint",
                                   ("tfx.v1", "google.cloud.aiplatform")) == []
