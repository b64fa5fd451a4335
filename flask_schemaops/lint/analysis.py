"""A revision script read with ``ast``: the operations it performs, where, and how.

Nothing here imports or runs the script. :func:`read` walks ``upgrade()`` and
``downgrade()`` (and the module's own helper functions they call) and records
every Alembic operation, and the SQL run through the migration's connection, with
the context it runs in: the table of an enclosing ``op.batch_alter_table()``,
whether it sits in ``autocommit_block()``, and which databases reach it when it
sits under ``if ...dialect.name == "..."``.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from ..headers import assignments, fields, ids
from . import sql as sqltext
from .rules import find

DIALECTS = frozenset({"postgresql", "mysql", "mariadb", "sqlite", "mssql", "oracle"})

# The positional parameters of each operation, in op.* form; the batch form
# (batch_op.*) has the same without the table.
_PARAMETERS: dict[str, tuple[str, ...]] = {
    "add_column": ("table_name", "column"),
    "drop_column": ("table_name", "column_name"),
    "alter_column": ("table_name", "column_name"),
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
    "rename_table": ("old_table_name", "new_table_name"),
    "create_index": ("index_name", "table_name", "columns"),
    "drop_index": ("index_name", "table_name"),
    "create_foreign_key": (
        "constraint_name",
        "source_table",
        "referent_table",
        "local_cols",
        "remote_cols",
    ),
    "create_check_constraint": ("constraint_name", "table_name", "condition"),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "drop_constraint": ("constraint_name", "table_name", "type_"),
    "execute": ("sqltext",),
}
_TABLE_PARAMETERS = ("table_name", "source_table", "old_table_name")

# `# schemaops: ignore[SO103, drop-table] why`; without the brackets it names no rule.
# Anywhere in a comment, as a word of its own, so that it may follow another tool's
# directive (a `noqa: E501` before it), as pylint reads its own.
_SUPPRESS = re.compile(r"(?<![\w.-])schemaops:\s*ignore\b\s*(?:\[([^\]]*)\])?", re.IGNORECASE)


@dataclass(frozen=True)
class Operation:
    """One call a revision script makes: an ``op.*`` (or ``batch_op.*``) operation,
    SQL run through the connection (``execute``), or an enum type's ``create`` or
    ``drop``."""

    kind: str
    function: str  # "upgrade" or "downgrade" (also for a helper they call)
    line: int
    end_line: int
    arguments: dict[str, ast.expr]
    table: str | None = None
    schema: str | None = None
    batch: bool = False
    autocommit: bool = False
    dialects: frozenset[str] | None = None  # None: every database runs it
    # Flask-Migrate's --multidb scripts: the bind of upgrade_<bind>() ("" is the
    # default database); None in a script of one database.
    bind: str | None = None

    def runs_on(self, dialect: str | None) -> bool:
        return dialect is None or self.dialects is None or dialect in self.dialects

    def keyword(self, name: str) -> ast.expr | None:
        return self.arguments.get(name)

    def flag(self, name: str) -> bool:
        """Whether keyword ``name`` is given as a true constant."""
        value = self.arguments.get(name)
        return isinstance(value, ast.Constant) and bool(value.value)


@dataclass
class Script:
    """What :func:`read` found in one revision script."""

    path: Path
    revision: str | None = None
    down_revisions: tuple[str, ...] | None = None  # None: not a plain literal
    header_line: int = 1
    operations: list[Operation] = field(default_factory=list)
    imports: list[tuple[str, int]] = field(default_factory=list)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)  # module-level names
    # Each read of a local name in the functions walked: what it is bound to there
    # (None: not known, such as a parameter, a loop variable, or a name bound
    # differently on two paths).
    bindings: dict[ast.Name, ast.expr | None] = field(default_factory=dict)
    enums: dict[str, ast.Call] = field(default_factory=dict)  # variable -> Enum(...) call
    suppressed_file: set[str] = field(default_factory=set)
    suppressed_lines: dict[int, set[str]] = field(default_factory=dict)
    # The suppression comments that suppress nothing: (line, what is wrong with it).
    bad_suppressions: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None  # the syntax error that stopped the reading

    def operations_in(self, function: str, dialect: str | None) -> list[Operation]:
        return [o for o in self.operations if o.function == function and o.runs_on(dialect)]

    # -- Values -----------------------------------------------------------------------

    def string(self, node: ast.expr | None) -> str | None:
        """The string ``node`` stands for, when it is known without running the script:
        a literal, a name bound to one, and what ``+``, ``%``, ``.format()`` and an
        f-string make of known values. None when any part of it is not known."""
        value = self._value(node, frozenset())
        return value if isinstance(value, str) else None

    def _value(self, node: ast.AST | None, seen: frozenset[str]) -> object:
        """The string or number ``node`` stands for (a tuple or dict of them for the
        arguments of ``%``), else None. ``seen``: the names being resolved, so that a
        name defined through itself is not known rather than endless."""
        if isinstance(node, ast.Constant):
            known = node.value
            return known if isinstance(known, (str, int, float)) else None
        if isinstance(node, ast.Name) and node in self.bindings:
            return self._value(self.bindings[node], seen)
        if isinstance(node, ast.Name):
            if node.id in seen or node.id not in self.constants:
                return None
            return self._value(self.constants[node.id], seen | {node.id})
        if isinstance(node, (ast.Tuple, ast.List, ast.Dict, ast.JoinedStr)):
            parts = [
                self._value(n, seen)
                for n in (
                    node.values
                    if isinstance(node, ast.JoinedStr)
                    else [*node.keys, *node.values]  # a None key: a ** unpacking
                    if isinstance(node, ast.Dict)
                    else node.elts
                )
            ]
            if any(p is None for p in parts):
                return None
            if isinstance(node, ast.JoinedStr):
                return "".join(str(p) for p in parts)
            if isinstance(node, ast.Dict):
                return dict(zip(parts[: len(node.keys)], parts[len(node.keys) :], strict=True))
            return tuple(parts)
        if isinstance(node, ast.FormattedValue):  # a {value!conversion:spec} of an f-string
            value = self._value(node.value, seen)
            spec = self._value(node.format_spec, seen) if node.format_spec else ""
            convert = _CONVERSIONS.get(node.conversion)
            if value is None or not isinstance(spec, str):
                return None
            return _evaluate(lambda: format(convert(value) if convert else value, spec))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            left, right = self._value(node.left, seen), self._value(node.right, seen)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Mod):
                return _evaluate(lambda: left % right) if isinstance(left, str) else None
            return _evaluate(lambda: left + right)  # type: ignore[operator]
        if not isinstance(node, ast.Call):
            return None
        if callee(node) in ("f", "text", "conv", "literal_column"):
            found = self._value(node.args[0], seen) if node.args else None
            return found if isinstance(found, str) else None
        if callee(node) == "bindparams" and isinstance(node.func, ast.Attribute):
            found = self._value(node.func.value, seen)  # text(...).bindparams(...)
            return found if isinstance(found, str) else None
        if callee(node) == "format" and isinstance(node.func, ast.Attribute):
            template = self._value(node.func.value, seen)
            if not isinstance(template, str) or any(isinstance(a, ast.Starred) for a in node.args):
                return None
            positional = [self._value(a, seen) for a in node.args]
            named = {k.arg: self._value(k.value, seen) for k in node.keywords if k.arg}
            if len(named) < len(node.keywords) or None in [*positional, *named.values()]:
                return None  # a ** unpacking, or a value not known
            return _evaluate(lambda: template.format(*positional, **named))
        return None

    def sql(self, node: ast.expr | None) -> str | None:
        """The SQL text of an ``execute()`` argument (a string or ``sa.text(...)``)."""
        return self.string(node)

    def enum_call(self, node: ast.expr) -> ast.Call | None:
        """The ``Enum(...)``/``ENUM(...)`` call ``node`` is or names."""
        if isinstance(node, ast.Name):
            return self.enums.get(node.id)
        if isinstance(node, ast.Call) and callee(node) in ("Enum", "ENUM"):
            return node
        return None

    def suppressed(self, rule: str, first: int, last: int) -> bool:
        if rule in self.suppressed_file:
            return True
        return any(rule in self.suppressed_lines.get(n, ()) for n in range(first, last + 1))


def read(path: Path) -> Script:
    """Read the script at ``path``."""
    script = Script(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        script.error = f"cannot be read: {exc}"
        return script
    try:
        tree = ast.parse(source, str(path))
    except SyntaxError as exc:
        line = exc.lineno
        if line is None and "\0" in source:  # Python names no line for a null byte
            line = source.count("\n", 0, source.index("\0")) + 1
        script.error = f"has a syntax error{f' on line {line}' if line else ''}: {exc.msg}"
        return script
    _header(script, tree)
    script.functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name, value, _ in assignments(tree.body):
        enum = script.enum_call(value)
        if enum is not None:
            script.enums[name] = enum
        else:
            script.constants[name] = value
    script.imports = list(_imports(tree))
    _suppressions(script, source, tree)
    for name in ("upgrade", "downgrade"):
        function = script.functions.get(name)
        if function is None:
            continue
        bodies = [function]
        if _dispatches(function):  # Flask-Migrate's --multidb: upgrade_<bind>(), ...
            bodies += [f for n, f in script.functions.items() if n.startswith(f"{name}_")]
        for body in bodies:
            bind = body.name[len(name) + 1 :] if body is not function else None
            walker = _Walker(script, name, bind)
            walker.values = dict.fromkeys(_stored(body), None)
            walker.block(body.body, _Context(), {name, body.name})
    return script


def _dispatches(function: ast.FunctionDef) -> bool:
    """Whether ``function`` calls the module's functions by name through ``globals()``."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "globals"
        for n in ast.walk(function)
    )


def _header(script: Script, tree: ast.Module) -> None:
    found = fields(tree)
    revision, _ = found.get("revision", (None, 0))
    if isinstance(revision, str):
        script.revision = revision
    if "down_revision" in found:
        value, script.header_line = found["down_revision"]
        script.down_revisions = ids(value)


def _imports(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def _suppressions(script: Script, source: str, tree: ast.Module) -> None:
    """Read the suppression comments. One at the end of a line of code (or on a line
    inside the brackets of a call) covers that line; one on a line of its own at the
    top level, above ``def upgrade()``, covers the whole file. Any other one covers
    nothing, and so does one that names no rule: both are reported (SO122)."""
    code_lines: set[int] = set()
    comments: list[tuple[int, int, str, bool]] = []  # line, column, text, within brackets
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments.append((*token.start, token.string, depth > 0))
                continue
            if token.type == tokenize.OP and token.string in ("(", "[", "{", ")", "]", "}"):
                depth += 1 if token.string in ("(", "[", "{") else -1
            if token.type not in (
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            ):
                code_lines.update(range(token.start[0], token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        return
    definitions = {
        n: (min([n.lineno, *(d.lineno for d in n.decorator_list)]), n.end_lineno or n.lineno)
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    upgrade = script.functions.get("upgrade")
    top = definitions[upgrade][0] if upgrade else len(source.splitlines()) + 1
    for line, column, text, bracketed in comments:
        for match in _SUPPRESS.finditer(text):
            references = [r.strip() for r in (match.group(1) or "").split(",") if r.strip()]
            if not references:
                script.bad_suppressions.append((line, "names no rule"))
                continue
            rules: set[str] = set()
            for reference in references:
                rule = find(reference)
                if rule is None:
                    script.bad_suppressions.append(
                        (line, f"names {reference!r}, which is not a rule")
                    )
                else:
                    rules.add(rule.id)
            inside = column > 0 or any(a <= line <= b for a, b in definitions.values())
            if line in code_lines or bracketed:
                script.suppressed_lines.setdefault(line, set()).update(rules)
            elif not inside and line < top:
                script.suppressed_file |= rules
            elif rules:
                where = "inside a function" if inside else "below def upgrade()"
                script.bad_suppressions.append((line, f"is on a line of its own {where}"))


# An f-string's !s, !r and !a.
_CONVERSIONS: dict[int, Callable[[object], str]] = {ord("s"): str, ord("r"): repr, ord("a"): ascii}


def _evaluate(make: Callable[[], object]) -> str | int | float | None:
    """What ``make`` returns, when it is a string or a number: ``+``, ``%`` or a format
    applied to known values, which a mismatch (a missing argument, a wrong type)
    makes not known."""
    try:
        value = make()
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return None
    return value if isinstance(value, (str, int, float)) else None


def callee(node: ast.Call) -> str:
    """The last name of what ``node`` calls: ``sa.Column(...)`` -> ``Column``."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


@dataclass(frozen=True)
class _Context:
    batch: tuple[tuple[str, str | None, str | None], ...] = ()  # (alias, table, schema)
    autocommit: bool = False
    dialects: frozenset[str] | None = None


# What an expression stands for, as far as the walker follows it: the migration's
# connection (op.get_bind(), op.get_context().connection, a Session on one of them:
# SQL run through it is read), Alembic's migration context, the database's dialect,
# its name, or a test of that name (the databases for which it is true).
_Kind = Literal["connection", "context", "dialect", "dialect name"] | frozenset[str]


class _Walker:
    """Collects the operations of one top-level function, in source order, and of the
    module's functions it calls, where a parameter stands for what the call passes."""

    def __init__(self, script: Script, function: str, bind: str | None = None):
        self.script = script
        self.function = function
        self.bind = bind
        self.ops = {"op"}  # names bound to alembic's op module
        self.names: dict[str, _Kind] = {}  # the local names the walker follows
        # The function's local names: what each is bound to (None: not known); a
        # name it does not bind is the module's.
        self.values: dict[str, ast.expr | None] = {}

    def block(self, body: list[ast.stmt], context: _Context, active: set[str]) -> None:
        for statement in body:
            self.statement(statement, context, active)

    def statement(self, node: ast.stmt, context: _Context, active: set[str]) -> None:
        if isinstance(node, (ast.With, ast.AsyncWith)):
            inner = context
            for item in node.items:
                self._read(item.context_expr)
                inner = self._with_item(item, inner)
                if isinstance(item.optional_vars, ast.Name):
                    self._name(item.optional_vars.id, item.context_expr)
                self._unknown(_stored(item))
            self.block(node.body, inner, active)
        elif isinstance(node, ast.If):
            self._read(node.test)
            chosen = self._dialect_test(node.test)
            if chosen is None:
                self.calls(node.test, context, active)
                self._unknown(_stored(node.test))
            body, orelse = context, context
            if chosen is not None:
                body, orelse = _narrow(context, chosen), _narrow(context, DIALECTS - chosen)
            before = dict(self.values)
            self.block(node.body, body, active)
            after, self.values = self.values, before
            self.block(node.orelse, orelse, active)
            # Either branch may have run: a name they leave bound alike is known.
            self.values = {k: v if after.get(k) is v else None for k, v in self.values.items()}
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.Try)):
            # A loop runs its body any number of times, and a handler runs after any
            # part of the try: a name any of it binds is not known in it, nor after it.
            bound = _stored(node)
            if isinstance(node, ast.While):  # its test runs before each round
                self._unknown(bound)
            header = node.test if isinstance(node, ast.While) else getattr(node, "iter", None)
            if header is not None:
                self._read(header)
                self.calls(header, context, active)
            self._unknown(bound)
            parts = (
                (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody)
                if isinstance(node, ast.Try)
                else (node.body, node.orelse)
            )
            for part in parts:
                self.block(part, context, active)
                self._unknown(bound)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return
        else:
            self._read(node)
            self._unknown(_stored(node))
            for name, value, _ in assignments([node]):
                if self._name(name, value):
                    continue
                enum = self.script.enum_call(value)
                if enum is not None:
                    self.script.enums[name] = enum
                else:
                    self.values[name] = value
            self.calls(node, context, active)

    def _read(self, node: ast.AST) -> None:
        """Record what each local name read in ``node`` is bound to now (a name that
        a lambda or a comprehension in it binds is not known)."""
        hidden: set[str] = set()
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Lambda, ast.comprehension)):
                hidden |= _stored(inner)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
                if inner.id in hidden:
                    self.script.bindings[inner] = None
                elif inner.id in self.values:
                    self.script.bindings[inner] = self.values[inner.id]

    def _unknown(self, names: set[str]) -> None:
        self.values.update(dict.fromkeys(names, None))

    def _name(self, name: str, value: ast.expr) -> bool:
        """Follow local ``name`` bound to ``value``; whether it is something followed."""
        kind = self._kind(value)
        if kind is None:
            self.names.pop(name, None)
            return False
        self.names[name] = kind
        return True

    def _kind(self, node: ast.expr | None) -> _Kind | None:
        """What ``node`` stands for (see :data:`_Kind`); None: nothing followed."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self._kind(node.value)
            if node.attr == "dialect":
                return "dialect"  # of a connection, a context, an engine...
            if node.attr == "name" and owner == "dialect":
                return "dialect name"
            if node.attr in ("connection", "bind") and owner in ("context", "connection"):
                return "connection"
            return None
        if isinstance(node, ast.Call):
            if _is_call_of(node, self.ops, "get_bind"):
                return "connection"
            if _is_call_of(node, self.ops, "get_context"):
                return "context"
            func = node.func
            if callee(node) in ("Session", "sessionmaker"):  # a session, or its factory
                bind = _bind(node, ("bind",)).get("bind")
                return "connection" if self._kind(bind) == "connection" else None
            if isinstance(func, ast.Attribute) and func.attr in ("execution_options", "cursor"):
                # the connection with options, or a cursor of its DBAPI connection
                return "connection" if self._kind(func.value) == "connection" else None
            if isinstance(func, (ast.Name, ast.Call)) and self._kind(func) == "connection":
                return "connection"  # a session made by a factory bound to the connection
            return None
        return self._dialect_test(node) if node is not None else None

    def _with_item(self, item: ast.withitem, context: _Context) -> _Context:
        expr = item.context_expr
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            if expr.func.attr == "autocommit_block":
                return replace(context, autocommit=True)
            if expr.func.attr == "batch_alter_table":  # recorded too, for its options
                self._record("batch_alter_table", expr, _bind(expr, ("table_name",)), context)
            if expr.func.attr == "batch_alter_table" and isinstance(item.optional_vars, ast.Name):
                arguments = _bind(expr, ("table_name",))
                entry = (
                    item.optional_vars.id,
                    self.script.string(arguments.get("table_name")),
                    self.script.string(arguments.get("schema")),
                )
                return replace(context, batch=(*context.batch, entry))
        return context

    def _dialect_test(self, test: ast.expr) -> frozenset[str] | None:
        """The databases for which ``test`` is true, when it only looks at the dialect
        (also through a name bound to such a test: ``is_pg = ... == "postgresql"``)."""
        if isinstance(test, ast.Name):
            kind = self.names.get(test.id)
            return kind if isinstance(kind, frozenset) else None
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self._dialect_test(test.operand)
            return None if inner is None else DIALECTS - inner
        if isinstance(test, ast.BoolOp):
            parts = [self._dialect_test(v) for v in test.values]
            if any(p is None for p in parts):
                return None
            sets = [p for p in parts if p is not None]
            if isinstance(test.op, ast.And):
                return frozenset.intersection(*sets)
            return frozenset.union(*sets)
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
            return None
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if self._kind(left) != "dialect name":
            return None
        if isinstance(right, (ast.Tuple, ast.List, ast.Set)):
            names = [self.script.string(e) for e in right.elts]
        else:
            names = [self.script.string(right)]
        if any(n is None for n in names):
            return None
        chosen = frozenset(n for n in names if n is not None)
        if isinstance(op, (ast.Eq, ast.In)):
            return chosen
        if isinstance(op, (ast.NotEq, ast.NotIn)):
            return DIALECTS - chosen
        return None

    def calls(self, node: ast.AST, context: _Context, active: set[str]) -> None:
        found = [n for n in _walk_calls(node)]
        found.sort(key=lambda n: (n.lineno, n.col_offset))
        for call in found:
            self.call(call, context, active)

    def call(self, node: ast.Call, context: _Context, active: set[str]) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in self.script.functions
            and func.id not in active
        ):
            helper = self.script.functions[func.id]
            outer, self.names = self.names, self._parameters(helper, node)
            # Its parameters are not known: its body is read once for every call.
            values, self.values = self.values, dict.fromkeys(_stored(helper), None)
            try:
                self.block(helper.body, context, active | {func.id})
            finally:
                self.names, self.values = outer, values
            return
        if not isinstance(func, ast.Attribute):
            return
        owner, name = func.value, func.attr
        if isinstance(owner, ast.Name) and owner.id in self.ops and name in _PARAMETERS:
            self._record(name, node, _bind(node, _PARAMETERS[name]), context)
            return
        for alias, table, schema in reversed(context.batch):
            if isinstance(owner, ast.Name) and owner.id == alias and name in _PARAMETERS:
                parameters = tuple(p for p in _PARAMETERS[name] if p not in _TABLE_PARAMETERS)
                arguments = _bind(node, parameters)
                self._record(name, node, arguments, context, batch=(table, schema))
                return
        if name in ("execute", "exec_driver_sql") and self._kind(owner) == "connection":
            self._record("execute", node, _bind(node, ("sqltext",)), context)
            return
        if name in ("create", "drop") and self.script.enum_call(owner) is not None:
            self._record(f"enum_{name}", node, {"enum": owner}, context)

    def _parameters(self, helper: ast.FunctionDef, call: ast.Call) -> dict[str, _Kind]:
        """What the parameters of ``helper`` stand for when ``call`` calls it: the
        names the helper's body starts with (it does not see the caller's)."""
        arguments = helper.args
        names = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
        given: dict[str, ast.expr] = {}
        for name, value in zip(names, call.args, strict=False):
            if isinstance(value, ast.Starred):
                break
            given[name] = value
        given.update({k.arg: k.value for k in call.keywords if k.arg is not None})
        found = {name: self._kind(value) for name, value in given.items()}
        return {name: kind for name, kind in found.items() if kind is not None}

    def _record(
        self,
        kind: str,
        node: ast.Call,
        arguments: dict[str, ast.expr],
        context: _Context,
        *,
        batch: tuple[str | None, str | None] | None = None,  # its (table, schema)
    ) -> None:
        if batch is not None:
            table, schema = batch
        else:
            table = next(
                (self.script.string(arguments[p]) for p in _TABLE_PARAMETERS if p in arguments),
                None,
            )
            schema = self.script.string(arguments.get("schema") or arguments.get("source_schema"))
        self.script.operations.append(
            Operation(
                kind=kind,
                function=self.function,
                line=node.lineno,
                end_line=node.end_lineno or node.lineno,
                arguments=arguments,
                table=table,
                schema=schema,
                batch=batch is not None,
                autocommit=context.autocommit,
                dialects=context.dialects,
                bind=self.bind,
            )
        )


def _narrow(context: _Context, dialects: frozenset[str]) -> _Context:
    current = context.dialects
    return replace(context, dialects=dialects if current is None else current & dialects)


def _stored(node: ast.AST) -> set[str]:
    """The names ``node`` binds (for a function: its parameters and the names its body
    binds; not what a nested function or class binds inside)."""
    found: set[str] = set()
    nodes: list[ast.AST] = [node]
    while nodes:
        inner = nodes.pop()
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, (ast.Store, ast.Del)):
            found.add(inner.id)
        elif isinstance(inner, ast.arg):
            found.add(inner.arg)
        elif isinstance(inner, ast.ExceptHandler) and inner.name:
            found.add(inner.name)
        elif isinstance(inner, (ast.Import, ast.ImportFrom)):
            found |= {(a.asname or a.name).split(".")[0] for a in inner.names}
        elif isinstance(inner, (ast.Global, ast.Nonlocal)):
            found |= set(inner.names)
        if inner is not node and isinstance(
            inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
        ):
            if not isinstance(inner, ast.Lambda):
                found.add(inner.name)
            continue
        nodes.extend(ast.iter_child_nodes(inner))
    return found


def _walk_calls(node: ast.AST) -> Iterator[ast.Call]:
    """The calls in ``node``, not looking into lambdas or nested definitions."""
    if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    if isinstance(node, ast.Call):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _walk_calls(child)


def _is_call_of(node: ast.expr, owners: set[str], method: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in owners
    )


def _bind(node: ast.Call, parameters: tuple[str, ...]) -> dict[str, ast.expr]:
    """The arguments of ``node`` by parameter name; extra positionals as ``*0``, ``*1``..."""
    arguments: dict[str, ast.expr] = {}
    for index, value in enumerate(node.args):
        if isinstance(value, ast.Starred):
            break
        key = parameters[index] if index < len(parameters) else f"*{index - len(parameters)}"
        arguments[key] = value
    for keyword in node.keywords:
        if keyword.arg is not None:
            arguments[keyword.arg] = keyword.value
    return arguments


# --- Columns, types and SQL ------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A ``sa.Column(...)`` written in a script."""

    name: str | None
    type: ast.expr | None
    nullable: bool
    server_default: ast.expr | None
    computed: ast.Call | None  # Computed(...): the database computes its value
    identity: ast.Call | None  # Identity(...)
    foreign_keys: tuple[ast.Call, ...]  # the ForeignKey(...) and CheckConstraint(...)
    checks: tuple[ast.Call, ...]  # declared on it, which Alembic adds after the column
    unique: bool  # unique=True
    index: bool  # index=True
    node: ast.Call


def column(script: Script, node: ast.expr | None) -> Column | None:
    if not isinstance(node, ast.Call) or callee(node) != "Column":
        return None
    arguments = _bind(node, ("name", "type_"))
    name = script.string(arguments.get("name"))
    kind = arguments.get("type_")
    if name is None and isinstance(arguments.get("name"), ast.Call):
        kind, name = arguments.get("name"), None  # Column(type) with the name elsewhere
    nullable_node = arguments.get("nullable")
    primary = isinstance(arguments.get("primary_key"), ast.Constant) and bool(
        arguments["primary_key"].value  # type: ignore[attr-defined]
    )
    nullable = (
        bool(nullable_node.value)
        if isinstance(nullable_node, ast.Constant)
        else nullable_node is not None or not primary
    )
    default = arguments.get("server_default")
    if isinstance(default, ast.Constant) and default.value is None:
        default = None
    items = [a for a in [*node.args, *(k.value for k in node.keywords)] if isinstance(a, ast.Call)]

    def declared(name: str) -> tuple[ast.Call, ...]:
        return tuple(a for a in items if callee(a) == name)

    def true(name: str) -> bool:
        value = arguments.get(name)
        return isinstance(value, ast.Constant) and bool(value.value)

    return Column(
        name,
        kind,
        nullable,
        default,
        computed=next(iter(declared("Computed")), None),
        identity=next(iter(declared("Identity")), None),
        foreign_keys=declared("ForeignKey"),
        checks=declared("CheckConstraint"),
        unique=true("unique"),
        index=true("index"),
        node=node,
    )


_VARCHAR = {"String", "VARCHAR", "Unicode", "NVARCHAR", "CHAR_VARYING"}
_TEXT = {"Text", "TEXT", "UnicodeText", "CLOB", "LONGTEXT", "MEDIUMTEXT"}
_NUMERIC = {"Numeric", "NUMERIC", "DECIMAL"}


@dataclass(frozen=True)
class Shape:
    """What a column type written in a script is, as far as widenings go."""

    kind: str  # "varchar", "text" or "numeric"
    size: int | None = None  # the length or precision; None: none given
    scale: int | None = None  # a numeric's scale; None: none given (0)


def type_shape(node: ast.expr | None) -> Shape | None:
    """The shape of the string and numeric types, else None."""
    if node is None:
        return None
    name = (
        node.id
        if isinstance(node, ast.Name)
        else node.attr
        if isinstance(node, ast.Attribute)
        else None
    )
    values: list[int | None] = [None, None]
    if isinstance(node, ast.Call):
        name = callee(node)
        sizes = ("precision", "scale") if name in _NUMERIC else ("length",)
        given = _bind(node, sizes)
        for index, size in enumerate(sizes):
            value = given.get(size)
            if isinstance(value, ast.Constant) and isinstance(value.value, int):
                values[index] = value.value
    if name in _VARCHAR:
        return Shape("varchar", values[0])
    if name in _TEXT:
        return Shape("text")
    if name in _NUMERIC:
        return Shape("numeric", values[0], values[1])
    return None


def type_source(node: ast.expr | None) -> str:
    return ast.unparse(node) if node is not None else "?"


def statements(
    script: Script, operation: Operation, dialect: str | None
) -> list[sqltext.Statement] | None:
    """The classified SQL of an ``execute`` operation, as the ``dialect`` database
    reads it (None: the databases that reach the operation, see :meth:`Operation.runs_on`);
    None when the text is not known before the script runs (built at run time, or a
    SQLAlchemy expression)."""
    text = script.sql(operation.arguments.get("sqltext"))
    dialects = (dialect,) if dialect else operation.dialects or ()
    return None if text is None else sqltext.classify(text, dialects)


def expression_kind(node: ast.expr | None) -> str | None:
    """For a SQLAlchemy expression passed to ``execute``: ``insert``, ``update``,
    ``delete`` or ``select``, and whether it has a WHERE (``update+where``)."""
    names: list[str] = []
    current = node
    while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
        names.append(current.func.attr)
        current = current.func.value
    if isinstance(current, ast.Call):
        names.append(callee(current))
    for verb in ("insert", "update", "delete", "select"):
        if verb in names:
            return f"{verb}+where" if "where" in names else verb
    return None


def module_is_stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names
