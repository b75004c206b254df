"""The package's imports point down only: no circles, no lower layer importing a higher one.

Read from the source with ``ast`` (imports inside functions count too), so a lazy import cannot
hide an arrow that climbs back up. The layers are the architecture README's layout describes.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "cloudatlas"

# Bottom to top. A module may import its own layer and the ones below.
LAYERS: list[set[str]] = [
    {"version", "errors", "labels"},                 # words and failures everything shares
    {"cache", "config", "imageio", "metadata"},      # settings, files, photos, model metadata
    {"linear", "inference", "model"},                # the engines: linear models, ONNX Runtime, backbones
    {"embeddings"},                                  # the one embedding pipeline
    {"data"},                                        # data sets, layout, journal, assembly, audit
    {"evaluate"},                                    # metrics and reports
    {"export"},                                      # ONNX graphs and files
    {"teacher", "gate"},                             # the teacher's probes and heads; the gates
    {"train", "clean", "server", "archive"},         # the trainer, the cleaner, the web app, archives
    {"cli", "__main__", "__init__"},                 # the command line; the package's front door
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("cloudatlas",) + parts)


def _is_module(name: str) -> bool:
    base = PACKAGE.parent / name.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports(path: Path) -> set[str]:
    """Every cloudatlas module ``path`` imports, anywhere in the file."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("cloudatlas")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("cloudatlas"):
                target = node.module
            else:
                continue
            submodules = [f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")]
            out.update(submodules)  # ``from . import app``: the submodule, not what the package exports
            if len(submodules) < len(node.names):
                out.add(target)
    out.discard(here)
    return out


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py") if "vendor" not in p.parts}


def layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    assert top in LAYER_OF, f"{module}: its package {top!r} has no layer; add it to LAYERS"
    return LAYER_OF[top]


def test_every_package_has_a_layer():
    for module in graph():
        layer(module)


def test_no_import_climbs_to_a_higher_layer():
    upward = [f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
              for m, targets in graph().items() for t in targets if layer(t) > layer(m)]
    assert not upward, "\n".join(upward)


def test_no_import_circles():
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if nxt not in g:
                continue
            if state.get(nxt) == 1:
                circles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)
    assert not circles, "\n".join(circles)


def test_the_runtime_layers_never_import_torch():
    """Inference, evaluation, serving and the data tools run without torch installed."""
    torch_free = {"version", "errors", "labels", "cache", "config", "imageio", "metadata", "linear", "inference",
                  "embeddings", "data", "evaluate", "gate", "clean", "server", "archive"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if parts[0].removesuffix(".py") not in torch_free:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(PACKAGE)} imports {n}" for n in names if n.split(".")[0] == "torch"]
    assert not offenders, "\n".join(offenders)
