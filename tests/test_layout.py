"""The exporter's layout follows its data flow: a stage never imports a stage above it.

Read from the code's own imports with ``ast`` (every import, also those inside functions and
``TYPE_CHECKING`` blocks), so the rule in ``costledger/__init__.py``'s docstring and the README's
"How it fits together" stays true. A failure names the module, the import and both stages.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORTER = ROOT / "exporter" / "opentelemetry" / "exporter" / "costledger"
INSTRUMENTATION = ROOT / "instrumentation" / "opentelemetry" / "instrumentation" / "costledger"
PKG = "opentelemetry.exporter.costledger"

# Stage of each top-level module or folder of the exporter, lowest first: a module may import
# its own stage and lower ones; stages of the same rank never import each other.
STAGES: dict[str, int] = {
    # shared vocabulary, below every stage (errors below the rest of it)
    "errors": 0,
    "periods": 1,
    "columns": 1,
    "price_book": 1,
    "currency": 1,
    "ledger": 2,
    "ingest": 3,
    "prices": 4,
    "imports": 4,
    "jobs": 5,
    "report": 6,
    "export": 6,
    "cli": 7,
    "demo": 8,
    # the package itself and the aliases of paths the README once showed: nothing imports them
    "": 9,
    "ledger_view": 9,
    "reprice": 9,
    "prices_report": 9,
}
# Imports allowed against the order: the CLI's `costledger demo` runs the demo.
ALLOWED = {("cli", "demo")}


def _module_name(path: Path, base: Path, package: str) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _is_module(name: str) -> bool:
    """Whether ``name`` (under PKG) is a module or package of the exporter."""
    rel = name[len(PKG) :].lstrip(".").replace(".", "/")
    target = EXPORTER / rel
    return target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with its line."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                inside = full.startswith(PKG + ".")
                found.append((node.lineno, full if inside and _is_module(full) else source))
    return found


def _stage(module: str) -> str:
    rest = module[len(PKG) :].lstrip(".")
    return rest.split(".")[0]


def _exporter_modules() -> list[tuple[Path, str]]:
    return [(p, _module_name(p, EXPORTER, PKG)) for p in sorted(EXPORTER.rglob("*.py"))]


def test_every_module_has_a_stage() -> None:
    unknown = sorted({m for _, m in _exporter_modules() if _stage(m) not in STAGES})
    assert not unknown, f"modules in no stage (add their folder to STAGES in this test): {unknown}"


def test_no_stage_imports_a_higher_one() -> None:
    problems = []
    for path, module in _exporter_modules():
        here = _stage(module)
        for line, target in _imports(path, module):
            if target != PKG and not target.startswith(PKG + "."):
                continue
            there = _stage(target)
            if there == here or (here, there) in ALLOWED:
                continue
            if STAGES[there] >= STAGES[here]:
                problems.append(
                    f"{module} (line {line}) imports {target}: the {here or 'package'} stage"
                    f" may not import {there or 'the package root'}"
                )
    assert not problems, "imports against the data flow:\n" + "\n".join(problems)


def test_only_the_cli_imports_the_demo() -> None:
    problems = [
        f"{module} (line {line}) imports {target}"
        for path, module in _exporter_modules()
        if _stage(module) not in ("demo", "cli")
        for line, target in _imports(path, module)
        if _stage(target) == "demo" and target.startswith(PKG + ".")
    ]
    assert not problems, "only the CLI may import the demo:\n" + "\n".join(problems)


def test_instrumentation_never_imports_the_exporter() -> None:
    package = "opentelemetry.instrumentation.costledger"
    problems = [
        f"{module} (line {line}) imports {target}"
        for path in sorted(INSTRUMENTATION.rglob("*.py"))
        for module in [_module_name(path, INSTRUMENTATION, package)]
        for line, target in _imports(path, module)
        if target.startswith("opentelemetry.exporter.costledger")
    ]
    assert not problems, "the instrumentation runs in users' apps:\n" + "\n".join(problems)


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The reader resolves relative imports as Python does (a ledger module importing jobs)."""
    source = tmp_path / "view.py"
    source.write_text("from ..jobs.aggregate import aggregate\nfrom .. import periods\n")
    found = [t for _, t in _imports(source, f"{PKG}.ledger.view")]
    assert found == [f"{PKG}.jobs.aggregate", f"{PKG}.periods"]
    assert STAGES[_stage(found[0])] > STAGES["ledger"]
