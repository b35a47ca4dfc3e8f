"""Compare two stages of the tutorial definition by definition.

The text builds each script from an earlier one, and an exercise answer is a
copy of the stage it changes. `changed_definitions(earlier, later)` lists
what differs between two such files: top-level functions and classes, the
module's constants, its imports, its `if __name__ == "__main__":` block and
the rest of its top-level statements (the calls an example makes as it runs,
taken together), each compared as source text. Inside a function or class that changed, the
functions and methods it defines are compared one by one as well, under
dotted names ("poetry_main.got_poem", "ProxyService.set_poem"), so that a
changed container does not hide drift in the parts the lesson left alone.
The module docstring and comments between definitions are not compared.
"""

import ast

from tools.launch import ROOT

IMPORTS = "<imports>"
MAIN_GUARD = "<main guard>"
# Every other top-level statement (a call such as d.callback(0), a tuple
# assignment, a for or with block), in the order of the file.
STATEMENTS = "<statements>"


def _source(path):
    return (ROOT / path).read_text(encoding="utf-8")


def _segment(lines, node):
    """The node's source lines, decorators included."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "".join(lines[start - 1 : node.end_lineno])


def _is_main_guard(node):
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _named(node):
    """The name a statement defines, or None for one we do not compare."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _is_docstring(index, node):
    return (
        index == 0
        and isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def definitions(path):
    """Map each definition's name in the file to (source, its nested definitions)."""
    source = _source(path)
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    found = {}
    imports = []
    statements = []
    for index, node in enumerate(tree.body):
        if _is_docstring(index, node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(_segment(lines, node))
        elif _is_main_guard(node):
            found[MAIN_GUARD] = (_segment(lines, node), {})
        else:
            name = _named(node)
            if name is None:
                statements.append(_segment(lines, node))
            else:
                inner = {
                    child.name: _segment(lines, child)
                    for child in getattr(node, "body", [])
                    if isinstance(
                        child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
                    )
                }
                found[name] = (_segment(lines, node), inner)
    found[IMPORTS] = ("".join(imports), {})
    found[STATEMENTS] = ("".join(statements), {})
    return found


def changed_definitions(earlier, later):
    """The sorted names of the definitions that differ, or exist in only one file.

    A nested definition is named "outer.inner" and is listed only when its
    container changed (otherwise the container's own entry covers it).
    """
    before, after = definitions(earlier), definitions(later)
    changed = set()
    for name in before.keys() | after.keys():
        if name not in before or name not in after:
            changed.add(name)
            continue
        (old, old_inner), (new, new_inner) = before[name], after[name]
        if old == new:
            continue
        changed.add(name)
        for inner in old_inner.keys() | new_inner.keys():
            if old_inner.get(inner) != new_inner.get(inner):
                changed.add(f"{name}.{inner}")
    return sorted(changed)
