"""Read-only Cypher: a query from a user or a model is parsed, checked against an allow-list
and re-written by us before any database sees it.

The keyword scanner this replaces was bypassed (issue 12): it read `\\` as an escape inside
backtick names where LadybugDB does not, so a write hid in what it took for a name, and
every `;`-separated statement ran. Three rules now:

1. **Tokenize strictly, as LadybugDB does** (its `Cypher.g4`): a backtick name ends at the
   first lone backtick (a doubled one is a literal backtick; no backslash escapes),
   strings take only Ladybug's escapes, `//` and `/* */` are comments. Anything else
   outside strings and names (unicode spaces or dashes, `\\`, `#`, `$1`…) is refused,
   not guessed at.
2. **Allow, don't deny.** One statement (a trailing `;` is fine) whose clauses are MATCH,
   OPTIONAL MATCH, WITH, UNWIND, WHERE, RETURN, ORDER BY, SKIP, LIMIT, UNION [ALL], and
   CALL of a read procedure the store allows. Every other word is a *name*; a name
   followed by `(` is a function call and must be an allow-listed read function.
   Parameters must be plain values. `range()` takes literal bounds (at most MAX_RANGE).
3. **The database runs our rendering, never the input text.** Comments are dropped,
   strings re-quoted and every name back-quoted, so a word the guard took for a name is a
   name to the database too: a clause the guard has never heard of cannot run, and a
   lexer difference between us and a database cannot hide anything.

Why no parser from PyPI: `antlr4-cypher` (grammars-v4's openCypher, one maintainer) and
`cypher-guard` (Neo4j's dialect; only `is_read()`, no syntax tree) would each be one more
lexer to disagree with the database, which is the bug being fixed; rule 3 needs tokens only.

The stores add what each database offers (see `GraphStore.query`): read-only opens and
READ ONLY transactions, a timeout, a memory cap, and a row cap. LadybugDB has no setting
that turns off file access or extension loading (0.22: neither `DBConfig` nor the
connection settings), so for those this guard is the barrier.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from distill.graph.errors import GraphError

MAX_QUERY_CHARS = 20_000
MAX_RANGE = 100_000
"""`range()` may produce at most this many values: LadybugDB builds the list in memory
before it checks its timeout (`range(1, 3000000000)` ended in `std::bad_alloc`)."""
MAX_DEPTH = 32
"""Brackets nested deeper are refused: LadybugDB 0.22's parser overflows its stack (a
segfault) on about 3,000 nested parentheses."""
MAX_PARAM_ITEMS = 10_000
MAX_PARAM_DEPTH = 4
MAX_PARAM_CHARS = 100_000


class QueryRefused(GraphError):
    """A query the read-only guard does not allow; the message says why, where and what to do."""


# clause keywords, and the other words a read query is made of
CLAUSES = frozenset(
    {"MATCH", "OPTIONAL", "UNWIND", "WITH", "WHERE", "RETURN", "ORDER", "SKIP", "LIMIT"}
    | {"UNION", "CALL", "YIELD"}
)
KEYWORDS = CLAUSES | {
    "AS", "BY", "ASC", "ASCENDING", "DESC", "DESCENDING", "ALL", "DISTINCT",
    "AND", "OR", "XOR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE",
    "CASE", "WHEN", "THEN", "ELSE", "END", "STARTS", "ENDS", "CONTAINS",
    "EXISTS", "COUNT", "ANY", "NONE", "SINGLE",
    "SHORTEST", "WSHORTEST", "TRAIL", "ACYCLIC",
}  # fmt: skip
WRITE_WORDS = frozenset(
    {
        "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "ALTER", "RENAME",
        "COPY", "LOAD", "EXPORT", "IMPORT", "ATTACH", "USE", "INSTALL", "UNINSTALL",
        "UPDATE", "EXTENSION", "BEGIN", "COMMIT", "ROLLBACK", "CHECKPOINT", "FOREACH",
        "EXPLAIN", "PROFILE", "COMMENT", "GRANT", "REVOKE", "TRUNCATE", "PROJECT",
    }
)  # fmt: skip
"""Only for a clear message: words refused where they would be clauses. Safety does not
depend on this list being complete (rule 3 renders any other word as a quoted name)."""

READ_FUNCTIONS = frozenset(
    """
    avg collect count count_star max min sum stdev stdevp percentilecont percentiledisc
    count_if histogram
    id label labels type keys properties nodes rels relationships length cost start_node
    end_node startnode endnode internal_id offset is_trail is_acyclic exists haslabels
    indegree outdegree
    coalesce ifnull nullif constant_or_null all any none single
    abs acos asin atan atan2 cbrt ceil ceiling cos cot degrees e even exp factorial floor
    gamma lgamma ln log log10 log2 negate pi pow power radians rand random round sign sin
    sqrt tan greatest least bitwise_and bitwise_or bitwise_xor bitshift_left bitshift_right
    concat concat_ws contains ends_with starts_with initcap lcase ucase left right
    levenshtein lower upper tolower toupper ltrim rtrim trim prefix suffix regexp_extract
    regexp_extract_all regexp_full_match regexp_matches regexp_replace
    regexp_split_to_array replace reverse size split split_part str_split string_split
    string_to_array substr substring octet_length md5 sha256 hash
    tostring tointeger tofloat toboolean tostringornull tointegerornull tofloatornull
    tobooleanornull string cast typeof
    to_bool to_date to_double to_float to_int8 to_int16 to_int32 to_int64 to_int128
    to_uint8 to_uint16 to_uint32 to_uint64 to_uint128 to_string to_timestamp to_interval
    to_days to_hours to_minutes to_seconds to_milliseconds to_microseconds to_months
    to_years to_epoch_ms to_uuid
    head last tail range element_at cardinality
    list_any_value list_append list_cat list_concat list_contains list_distinct
    list_element list_extract list_filter list_has list_has_all list_has_any list_indexof
    list_max list_min list_position list_prepend list_product list_reduce list_reverse
    list_reverse_sort list_slice list_sort list_sum list_to_string list_transform
    list_unique array_append array_cat array_concat array_contains array_extract
    array_has array_indexof array_position array_prepend array_push_back
    array_push_front array_slice array_value array_distance array_squared_distance
    array_dot_product array_inner_product array_cosine_similarity array_cross_product
    date timestamp interval duration current_date current_timestamp date_part datepart
    date_trunc datetrunc dayname monthname last_day make_date century epoch_ms time_bucket
    struct_extract struct_pack map map_extract map_keys map_values
    gen_random_uuid uuid
    """.split()  # noqa: SIM905  (a word list reads better than 240 quoted strings)
)
"""Functions a read query may call (lower case). Left out on purpose: `nextval`/`currval`
(sequences), `setseed`, `error`, `to_json` (the ladybug client rewrites queries around it),
`repeat`/`lpad`/`rpad` (a literal count builds any size of string), every table, copy
and file function (`read_csv*`, `read_parquet`, `read_npy`, …)."""

_AGGREGATES = frozenset({"avg", "collect", "count", "max", "min", "sum"})
_CALLABLE_KEYWORDS = frozenset({"COUNT", "EXISTS", "ALL", "ANY", "NONE", "SINGLE"})


@dataclass(frozen=True)
class Dialect:
    """How one database wants the checked query written, and which procedures it may CALL."""

    name: str
    procedures: frozenset[str] = frozenset()
    quote_names: bool = True
    """Back-quote every name (False: grand-cypher, which has no quoted names)."""
    string_quote: Literal["'", '"'] = "'"
    inline_params: bool = False
    """Write parameter values into the text (grand-cypher has no parameters)."""
    upper_aggregates: bool = False
    """Spell aggregate functions in capitals (grand-cypher's grammar only knows COUNT…)."""
    limit_rows: bool = True
    """Cap the rows with an appended LIMIT (not on grand-cypher, whose LIMIT cuts the
    matches before aggregation: `RETURN count(n) LIMIT 4` would count four)."""


OPENCYPHER = Dialect("openCypher")
LADYBUG = Dialect(
    "ladybug",
    procedures=frozenset(
        {"show_tables", "table_info", "show_connection", "db_version", "show_functions"}
    ),
)
FALKORDB = Dialect(
    "falkordb",
    procedures=frozenset({"db.labels", "db.relationshiptypes", "db.propertykeys", "db.indexes"}),
)
GRAND_CYPHER = Dialect(
    "grand-cypher",
    quote_names=False,
    string_quote='"',
    inline_params=True,
    upper_aggregates=True,
    limit_rows=False,
)


# the tokenizer

Kind = Literal["word", "name", "string", "number", "param", "punct"]


class Token(NamedTuple):
    kind: Kind
    value: str
    """word: as written; name: unquoted; string: decoded; number: as written; param: its name"""
    pos: int
    spaced: bool
    """whitespace or a comment came before it (kept when rendering: `x[0]` is not `x [0]`)"""


_SPACE = " \t\n\r\f\v"
_LINE_END = re.compile(r"[\r\n]")
_WORD = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"(?:\d+\.\d+|\.\d+|\d+)(?:[eE]-?\d+)?")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PUNCT = ("<>", "<=", ">=", "=~", "..", "<<", ">>", "!=", *"()[]{},.:;|=<>+-*/%^&!")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _where(cypher: str, pos: int) -> str:
    line = cypher.count("\n", 0, pos) + 1
    col = pos - (cypher.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def _refuse(cypher: str, pos: int, why: str) -> QueryRefused:
    return QueryRefused(f"{why} (at {_where(cypher, pos)})")


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'character')}"


def tokenize(cypher: str) -> list[Token]:
    """Split a query into tokens the way LadybugDB's lexer does, refusing anything unusual."""
    tokens: list[Token] = []
    i, n = 0, len(cypher)
    spaced = False
    while i < n:
        ch = cypher[i]
        if ch in _SPACE:
            i, spaced = i + 1, True
        elif cypher.startswith("//", i):
            match = _LINE_END.search(cypher, i)
            i, spaced = (n if match is None else match.end()), True
        elif cypher.startswith("/*", i):
            end = cypher.find("*/", i + 2)
            if end < 0:
                raise _refuse(cypher, i, "unterminated /* comment")
            i, spaced = end + 2, True
        elif ch == "`":
            name, i2 = _backtick_name(cypher, i)
            tokens.append(Token("name", name, i, spaced))
            i, spaced = i2, False
        elif ch in "'\"":
            value, i2 = _string(cypher, i)
            tokens.append(Token("string", value, i, spaced))
            i, spaced = i2, False
        elif match := _PARAM.match(cypher, i):
            tokens.append(Token("param", match.group(1), i, spaced))
            i, spaced = match.end(), False
        elif ch == "$":
            raise _refuse(cypher, i, "a parameter is $ followed by a name such as $id")
        elif (match := _NUMBER.match(cypher, i)) and not (
            ch == "." and tokens and _ends_atom(tokens[-1])
        ):
            end = match.end()
            if end < n and (cypher[end].isalnum() or cypher[end] == "_"):
                raise _refuse(cypher, i, f"malformed number {cypher[i : end + 1]!r}")
            tokens.append(Token("number", match.group(), i, spaced))
            i, spaced = end, False
        elif match := _WORD.match(cypher, i):
            tokens.append(Token("word", match.group(), i, spaced))
            i, spaced = match.end(), False
        else:
            op = next((p for p in _PUNCT if cypher.startswith(p, i)), None)
            if op is None:
                shown = ch if ch.isprintable() and ch.isascii() else _char_name(ch)
                raise _refuse(
                    cypher,
                    i,
                    f"unexpected {shown!r}: outside strings and `names` a query "
                    "may use only ASCII spaces, operators and brackets",
                )
            tokens.append(Token("punct", op, i, spaced))
            i, spaced = i + len(op), False
    return tokens


def _ends_atom(token: Token) -> bool:
    """`n.5`? no: after a name or `)`, a `.` is a property lookup, not a number."""
    return token.kind in ("word", "name") or token.value in (")", "]")


def _backtick_name(cypher: str, start: int) -> tuple[str, int]:
    """( '`' ~[`]* '`' )+ : a doubled backtick is one backtick, backslash is an ordinary char."""
    parts: list[str] = []
    i = start
    while i < len(cypher) and cypher[i] == "`":
        end = cypher.find("`", i + 1)
        if end < 0:
            raise _refuse(cypher, start, "unterminated `name`")
        parts.append(cypher[i + 1 : end])
        i = end + 1
    name = "`".join(parts)
    if not name:
        raise _refuse(cypher, start, "empty `` name")
    if any(not c.isprintable() for c in name):
        raise _refuse(cypher, start, "a `name` may not contain control characters")
    return name, i


def _string(cypher: str, start: int) -> tuple[str, int]:
    """A quoted string with LadybugDB's escapes only; the decoded value."""
    quote, i, out = cypher[start], start + 1, []
    while i < len(cypher):
        ch = cypher[i]
        if ch == quote:
            value = "".join(out)
            bad = next((c for c in value if _forbidden_in_string(c)), None)
            if bad is not None:
                raise _refuse(cypher, start, f"strings may not contain {_char_name(bad)}")
            return value, i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = cypher[i + 1 : i + 2]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
            continue
        size = {"x": 2, "X": 2, "u": 4, "U": 8}.get(esc, 0)
        if esc in ("u", "U") and re.fullmatch(r"[0-9A-Fa-f]{8}", cypher[i + 2 : i + 10]):
            size = 8
        digits = cypher[i + 2 : i + 2 + size]
        if not size or not re.fullmatch(rf"[0-9A-Fa-f]{{{size}}}", digits):
            raise _refuse(cypher, i, f"unknown escape \\{esc} in a string")
        code = int(digits, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or (esc in "xX" and code > 0x7F):
            raise _refuse(cypher, i, f"escape \\{esc}{digits} is not a character")
        out.append(chr(code))
        i += 2 + size
    raise _refuse(cypher, start, f"unterminated {quote}string{quote}")


def _forbidden_in_string(ch: str) -> bool:
    return (ord(ch) < 0x20 and ch not in "\n\r\t") or ch == "\x7f"


# the checks


@dataclass
class ReadQuery:
    """A query the guard accepted; `render` writes it for one database."""

    tokens: list[Token]
    params: dict[str, Any] = field(default_factory=dict)
    has_union: bool = False
    has_final_limit: bool = False
    calls: set[int] = field(default_factory=set)
    """positions of name tokens that are function or procedure names"""

    def render(self, dialect: Dialect, row_cap: int | None = None) -> str:
        """The query as the database will see it: no comments, quoted names, our strings."""
        out: list[str] = []
        previous: str | None = None
        for index, token in enumerate(self.tokens):
            text = self._text(index, token, dialect)
            if previous is not None and (token.spaced or (_wordish(previous) and _wordish(text))):
                out.append(" ")
            out.append(text)
            previous = text
        if (
            row_cap is not None
            and dialect.limit_rows
            and not (self.has_union or self.has_final_limit)
        ):
            out.append(f" LIMIT {int(row_cap)}")
        return "".join(out)

    def _text(self, index: int, token: Token, dialect: Dialect) -> str:
        if token.kind == "word" and index not in self.calls and token.value.upper() in KEYWORDS:
            return token.value.upper()
        if token.kind in ("word", "name"):
            if index in self.calls:
                name = token.value.lower()
                return name.upper() if dialect.upper_aggregates and name in _AGGREGATES else name
            return _name(token.value, dialect)
        if token.kind == "string":
            return _quote(token.value, dialect)
        if token.kind == "param":
            if dialect.inline_params:
                return json.dumps(self.params[token.value], ensure_ascii=False)
            return f"${token.value}"
        return token.value


def _wordish(text: str) -> bool:
    return bool(text) and (text[-1].isalnum() or text[-1] in "_`'\"" or text[0] in "$`'\"")


def _name(name: str, dialect: Dialect) -> str:
    if dialect.quote_names:
        return "`" + name.replace("`", "``") + "`"
    if not _PLAIN_NAME.match(name):
        raise QueryRefused(
            f"the {dialect.name} store has no quoted names: use plain letters, digits and _ "
            f"instead of `{name}`"
        )
    return name


def _quote(value: str, dialect: Dialect) -> str:
    if dialect.string_quote == '"':
        return json.dumps(value, ensure_ascii=False)
    escaped = (
        value.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


_FOLLOW_READING = frozenset({"MATCH", "UNWIND", "WITH", "CALL", "RETURN"})
_NEXT: dict[str, frozenset[str]] = {
    "start": _FOLLOW_READING,
    "MATCH": _FOLLOW_READING | {"WHERE"},
    "CALL": _FOLLOW_READING | {"WHERE", "YIELD"},
    "YIELD": _FOLLOW_READING | {"WHERE"},
    "UNWIND": _FOLLOW_READING,
    "WHERE": _FOLLOW_READING,
    "WITH": _FOLLOW_READING | {"WHERE", "ORDER", "SKIP", "LIMIT"},
    "RETURN": frozenset({"ORDER", "SKIP", "LIMIT", "UNION", "end"}),
}
_MODIFIERS = ("ORDER", "SKIP", "LIMIT")


def read_query(
    cypher: str, params: Mapping[str, Any] | None = None, dialect: Dialect = OPENCYPHER
) -> ReadQuery:
    """Check that `cypher` is one read query (see the module doc); raise QueryRefused if not.

    `params` None skips the parameter checks (only the text is judged); a store always
    passes a dict, so every `$name` must be given and every value plain.
    """
    if not isinstance(cypher, str) or not cypher.strip():
        raise QueryRefused("empty query: write one read query, e.g. MATCH (p:Product) RETURN p.id")
    if len(cypher) > MAX_QUERY_CHARS:
        raise QueryRefused(f"query is {len(cypher)} characters; the limit is {MAX_QUERY_CHARS}")
    tokens = tokenize(cypher)
    if tokens and tokens[-1].value == ";" and tokens[-1].kind == "punct":
        tokens = tokens[:-1]
    if not tokens:
        raise QueryRefused("empty query: write one read query, e.g. MATCH (p:Product) RETURN p.id")
    query = ReadQuery(tokens)
    _check_brackets(cypher, tokens)
    _check_words(cypher, tokens, query, dialect)
    _check_clauses(cypher, tokens, query)
    if params is not None:
        query.params = _check_params(cypher, tokens, params)
    return query


def ensure_read_only(cypher: str, params: Mapping[str, Any] | None = None) -> None:
    """Raise QueryRefused unless `cypher` is one read query the guard allows."""
    read_query(cypher, params)


_OPEN = {"(": ")", "[": "]", "{": "}"}


def _check_brackets(cypher: str, tokens: list[Token]) -> None:
    stack: list[Token] = []
    for token in tokens:
        if token.kind != "punct":
            continue
        if token.value == ";":
            raise _refuse(
                cypher, token.pos, "one statement at a time: remove the ';' and what follows it"
            )
        if token.value in _OPEN:
            stack.append(token)
            if len(stack) > MAX_DEPTH:
                raise _refuse(cypher, token.pos, f"brackets nested more than {MAX_DEPTH} deep")
        elif token.value in _OPEN.values():
            if not stack or _OPEN[stack[-1].value] != token.value:
                raise _refuse(cypher, token.pos, f"unbalanced {token.value!r}")
            stack.pop()
    if stack:
        raise _refuse(cypher, stack[-1].pos, f"unclosed {stack[-1].value!r}")


def _check_words(cypher: str, tokens: list[Token], query: ReadQuery, dialect: Dialect) -> None:
    """Function calls, CALL targets and clause-like words; marks call names in `query.calls`."""
    for i, token in enumerate(tokens):
        if token.kind not in ("word", "name") or i in query.calls:  # a procedure's dotted name
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        upper = token.value.upper()
        if (
            token.kind == "word"
            and upper == "CALL"
            and (after is None or after.kind not in ("word", "name"))
        ):
            raise _refuse(
                cypher,
                token.pos,
                "CALL may only run a read procedure, as in CALL show_tables() RETURN *",
            )
        if before is not None and before.kind == "word" and before.value.upper() == "CALL":
            _check_procedure(cypher, tokens, i, query, dialect)
            continue
        if token.kind == "word" and upper in WRITE_WORDS and not _name_position(tokens, i):
            raise _refuse(
                cypher,
                token.pos,
                f"read-only queries only: refusing {upper}. The graph changes only through "
                "ingestion, so every fact keeps its provenance",
            )
        if after is None or after.value != "(" or after.kind != "punct":
            continue
        if token.kind == "word" and upper in KEYWORDS and upper not in _CALLABLE_KEYWORDS:
            continue  # `IN (…)`, `AND (…)`, `WSHORTEST(weight)`: syntax, not calls
        if before is not None and before.kind == "punct" and before.value == ".":
            raise _refuse(
                cypher,
                token.pos,
                f"namespaced functions such as …{token.value}() are not allowed in read queries",
            )
        name = token.value.lower()
        if name not in READ_FUNCTIONS:
            raise _refuse(
                cypher,
                token.pos,
                f"function {token.value}() is not an allowed read function",
            )
        if name == "range":
            _check_range(cypher, tokens, i + 1)
        query.calls.add(i)


def _name_position(tokens: list[Token], i: int) -> bool:
    """After `.` or `:` (a property, a label or a map value), before `:` in a map, after AS."""
    before = tokens[i - 1] if i else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    if before is not None and before.kind == "punct" and before.value in (".", ":", "|"):
        return True
    if before is not None and before.kind == "word" and before.value.upper() == "AS":
        return True
    return after is not None and after.kind == "punct" and after.value == ":"


def _check_procedure(
    cypher: str, tokens: list[Token], i: int, query: ReadQuery, dialect: Dialect
) -> None:
    """CALL <allowed procedure>(…): dotted names joined (FalkorDB's db.labels)."""
    parts, j = [tokens[i]], i + 1
    while (
        j + 1 < len(tokens)
        and tokens[j].value == "."
        and tokens[j].kind == "punct"
        and tokens[j + 1].kind in ("word", "name")
    ):
        parts.append(tokens[j + 1])
        j += 2
    name = ".".join(p.value for p in parts).lower()
    if j >= len(tokens) or tokens[j].value != "(" or tokens[j].kind != "punct":
        raise _refuse(
            cypher,
            tokens[i].pos,
            "CALL may only run a read procedure, as in "
            "CALL show_tables() RETURN *; settings cannot be changed",
        )
    if name not in dialect.procedures:
        allowed = ", ".join(sorted(dialect.procedures)) or "none"
        raise _refuse(
            cypher,
            tokens[i].pos,
            f"procedure {name}() is not allowed in read queries "
            f"(allowed on {dialect.name}: {allowed})",
        )
    query.calls.update(range(i, j, 2))


def _check_range(cypher: str, tokens: list[Token], open_at: int) -> None:
    """range(a, b[, step]) with integer literals and at most MAX_RANGE values."""
    args: list[list[Token]] = [[]]
    depth, j = 0, open_at
    while j < len(tokens):
        token = tokens[j]
        if token.kind == "punct" and token.value in _OPEN:
            depth += 1
            if depth == 1:
                j += 1
                continue
        elif token.kind == "punct" and token.value in _OPEN.values():
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and token.kind == "punct" and token.value == ",":
            args.append([])
        else:
            args[-1].append(token)
        j += 1
    values: list[int] = []
    for arg in args:
        text = "".join(t.value for t in arg)
        if not re.fullmatch(r"-?\d+", text):
            raise _refuse(
                cypher,
                tokens[open_at].pos,
                "range() takes integer literals here, "
                f"e.g. range(1, 10); at most {MAX_RANGE} values",
            )
        values.append(int(text))
    if len(values) not in (2, 3) or (len(values) == 3 and values[2] == 0):
        raise _refuse(
            cypher, tokens[open_at].pos, "range() takes (start, end) or (start, end, step ≠ 0)"
        )
    start, end, step = values[0], values[1], values[2] if len(values) == 3 else 1
    count = max(0, (end - start) // step + 1)
    if count > MAX_RANGE:
        raise _refuse(
            cypher,
            tokens[open_at].pos,
            f"range() would make {count} values; the limit is {MAX_RANGE}",
        )


def _check_clauses(cypher: str, tokens: list[Token], query: ReadQuery) -> None:
    """Clauses at the top level, in an order a read query allows, ending with RETURN."""
    state, projection, depth = "start", "", 0
    for i, token in enumerate(tokens):
        if token.kind == "punct" and token.value in _OPEN:
            depth += 1
        elif token.kind == "punct" and token.value in _OPEN.values():
            depth -= 1
        if depth or token.kind != "word" or i in query.calls:
            continue
        word = token.value.upper()
        previous = tokens[i - 1].value.upper() if i and tokens[i - 1].kind == "word" else ""
        if word not in CLAUSES or (word == "WITH" and previous in ("STARTS", "ENDS")):
            continue
        if word == "MATCH" and previous == "OPTIONAL":
            continue
        if word == "OPTIONAL":
            following = tokens[i + 1].value.upper() if i + 1 < len(tokens) else ""
            if following != "MATCH":
                raise _refuse(cypher, token.pos, "OPTIONAL must be followed by MATCH")
            word = "MATCH"
        if state in _MODIFIERS:  # after ORDER BY / SKIP / LIMIT of a WITH or a RETURN
            later = _MODIFIERS[_MODIFIERS.index(state) + 1 :]
            allowed = set(later) | (_NEXT[projection] - set(_MODIFIERS))
        else:
            allowed = set(_NEXT[state])
        if word not in allowed:
            raise _refuse(
                cypher,
                token.pos,
                f"{word} cannot come here in a read query "
                "(MATCH/UNWIND/WITH … RETURN [ORDER BY] [SKIP] [LIMIT], joined by UNION)",
            )
        if word in ("WITH", "RETURN"):
            projection = word
        if word == "UNION":
            query.has_union = True
            state, projection = "start", ""
            continue
        state = word
        if word == "LIMIT" and projection == "RETURN":
            query.has_final_limit = True
        if word == "RETURN":
            query.has_final_limit = False
    final = state == "RETURN" or (state in _MODIFIERS and projection == "RETURN")
    if not final:
        raise QueryRefused(
            "a read query ends with RETURN (plus ORDER BY / SKIP / LIMIT), e.g. "
            "MATCH (p:Product) RETURN p.id LIMIT 10"
        )


def _check_params(cypher: str, tokens: list[Token], params: Mapping[str, Any]) -> dict[str, Any]:
    """Every $name given, every given value used and plain: no objects, frames or bytes."""
    used = {t.value: t.pos for t in tokens if t.kind == "param"}
    for name, pos in used.items():
        if name not in params:
            raise _refuse(cypher, pos, f"query uses ${name} but no such parameter was given")
    unused = [str(name) for name in params if name not in used]
    if unused:
        raise QueryRefused(f"parameter(s) {', '.join(unused)} are not used by the query")
    for name, value in params.items():
        if not isinstance(name, str) or not _PLAIN_NAME.match(name):
            raise QueryRefused(f"parameter name {name!r} must be letters, digits and _")
        _check_value(name, value, 0, [0])
    return dict(params)


def _check_value(name: str, value: Any, depth: int, count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_PARAM_ITEMS:
        raise QueryRefused(f"parameter {name} holds more than {MAX_PARAM_ITEMS} values")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise QueryRefused(f"parameter {name}: integer {value} does not fit in 64 bits")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryRefused(f"parameter {name}: {value} is not a finite number")
        return
    if isinstance(value, str):
        if len(value) > MAX_PARAM_CHARS:
            raise QueryRefused(f"parameter {name} is longer than {MAX_PARAM_CHARS} characters")
        if any(_forbidden_in_string(c) for c in value) or any(
            0xD800 <= ord(c) <= 0xDFFF for c in value
        ):
            raise QueryRefused(f"parameter {name} holds control characters or lone surrogates")
        return
    if depth >= MAX_PARAM_DEPTH:
        raise QueryRefused(f"parameter {name} is nested more than {MAX_PARAM_DEPTH} levels")
    if isinstance(value, list | tuple):
        for item in value:
            _check_value(name, item, depth + 1, count)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _PLAIN_NAME.match(key):
                raise QueryRefused(f"parameter {name}: map key {key!r} must be a plain name")
            _check_value(name, item, depth + 1, count)
        return
    raise QueryRefused(
        f"parameter {name} is a {type(value).__name__}; only strings, numbers, booleans, "
        "null and lists or maps of them are allowed"
    )
