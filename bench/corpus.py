"""A corpus of real English text that exists offline: the docstrings of installed Python modules.

Each module of the standard library and of the packages in the virtualenv becomes one `.txt`
document: its module docstring, then the docstring of each class and function, under their
names. Source files are parsed with `ast`, never imported, so building it runs no package code.
The corpus is written once under `~/.cache/studychat-bench/` and reused.
"""

from __future__ import annotations

import ast
import hashlib
import sys
import sysconfig
import warnings
from pathlib import Path

CACHE = Path.home() / ".cache" / "studychat-bench"
MIN_CHARS = 800  # a module with less documentation than this is not a document worth asking about
MAX_CHARS = 200_000  # past this a single module would dominate the timings
ALL = "all"


def module_roots() -> list[Path]:
    """The standard library and the virtualenv's site-packages, in that order."""
    paths = sysconfig.get_paths()
    roots = [Path(paths["stdlib"]), Path(paths["purelib"])]
    return [r for r in dict.fromkeys(roots) if r.is_dir()]


def docstring_text(source: str, module: str) -> str:
    """The docstrings of one module as plain text, each under the name of what it documents."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    parts = []
    doc = ast.get_docstring(tree)
    if doc:
        parts.append(doc)

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                text = ast.get_docstring(child)
                if text and not child.name.startswith("_"):
                    kind = "Class" if isinstance(child, ast.ClassDef) else "Function"
                    parts.append(f"{kind} {name}.\n\n{text}")
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{name}.")

    visit(tree, "")
    if not parts:
        return ""
    return f"Module {module}.\n\n" + "\n\n".join(parts) + "\n"


def iter_modules(roots: list[Path]):
    """(dotted module name, path) of every `.py` file under the roots, skipping tests and vendored copies."""
    skip = {"test", "tests", "testing", "_vendor", "vendor", "idlelib", "lib2to3", "site-packages", "__pycache__"}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            if any(part in skip or part.startswith(".") or part.endswith(".dist-info") for part in relative.parts[:-1]):
                continue
            if root.name != "site-packages" and "site-packages" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            yield module, path


def build_corpus(limit: int | None, folder: Path | None = None) -> Path:
    """A folder of at most `limit` documents (all of them when None), built on first use."""
    name = f"corpus-{limit}" if limit else f"corpus-{ALL}"
    folder = folder or CACHE / name
    done = folder.with_name(folder.name + ".complete")
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    count = 0
    for module, path in iter_modules(module_roots()):
        try:
            text = docstring_text(path.read_text(encoding="utf-8"), module)
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError, RecursionError):
            continue
        if len(text) < MIN_CHARS:
            continue
        text = text[:MAX_CHARS]
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in seen:  # the same module vendored twice
            continue
        seen.add(digest)
        (folder / f"{module[:150]}.txt").write_text(text, encoding="utf-8")
        count += 1
        if limit and count >= limit:
            break
    done.write_text(f"{count} documents\n")
    return folder


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.txt"))


def corpus_size(folder: Path) -> tuple[int, int]:
    """(documents, bytes of text) in a corpus folder."""
    files = corpus_files(folder)
    return len(files), sum(p.stat().st_size for p in files)


if __name__ == "__main__":
    built = build_corpus(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(built, corpus_size(built))
