"""What a document asks for, measured before anything else looks at it: depth, aliases, size
after fragments are expanded, and cost.

Why here and not in validation rules: graphql-core's rules and Strawberry's depth and alias
limiters walk every expansion of every fragment spread, so a 1 KB document of doubled spreads
(`fragment F0 on Skill { ...F1 ...F1 }` forty deep) costs 2^40 steps. `CostModel.analyse`
measures each fragment once (memoised), so its work is linear in the document's length, and
the numbers it returns are those of the fully expanded operation. A document over a limit is
refused before graphql-core validates it (see `api.graphql.limits`).

The cost model, as GitHub's and Shopify's:
- a field that returns an object (or interface or union) costs 1 for every object it can
  return; leaves (scalars, enums, lists of them) cost nothing;
- a connection (a field whose type has `pageInfo`) costs 2 and multiplies its selection by its
  page size (`first` or `last`, else the default page); its `nodes` and `edges` are that page;
- a plain list of objects multiplies its selection by its longest possible length: its size
  argument (`ids`, `limit`, `first`, `last`) or its `MaxItems` cap, which is enforced when it
  resolves, so the estimate is a true upper bound;
- each root field of a mutation costs `MUTATION_COST` more (it writes);
- introspection (`__schema`, `__type`) costs `INTROSPECTION_COST`, with its lists nested at most
  `MAX_INTROSPECTION_LISTS` deep (the schema is small and in memory; its nesting is what could
  multiply);
- a field whose work is not its objects (an aggregate, an optimiser call) carries a `Cost(n)`
  extension: n more, each time it is selected;
- a subscription's selection runs again for every event, so it may cost at most
  `max_subscription_cost`.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)

MUTATION_COST = 10
CONNECTION_COST = 2
INTROSPECTION_COST = 2_000
MAX_INTROSPECTION_LISTS = 3
INTROSPECTION_LISTS = frozenset(
    {"types", "fields", "args", "inputFields", "interfaces", "possibleTypes", "enumValues"}
    | {"directives"}
)
# Size arguments of plain lists: the list is at most this long.
COUNT_ARGUMENTS = ("first", "last", "limit")
LIST_ARGUMENTS = ("ids",)

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"


@dataclass(frozen=True)
class Limits:
    """What one document may ask for (`Settings` holds the configured values)."""

    max_depth: int = 12
    max_aliases: int = 30
    # Field selections of the whole document once fragments are expanded: bounds the work of
    # graphql-core's own validation, which expands them.
    max_selections: int = 1_000
    max_fragments: int = 100
    max_directives: int = 10  # on one field, fragment or operation
    max_same_field: int = 30  # selections of one response key in one selection set
    max_cost: int = 20_000
    max_operations: int = 50  # operation definitions in one document
    # Selection sets inside selection sets (fields, inline fragments and spreads alike): depth
    # counts fields only, but every level costs the validator and the executor a recursion.
    max_nesting: int = 30
    max_variable_values: int = 10_000  # values in the variables, nested ones included
    max_subscription_cost: int = 1_000  # a subscription's selection runs again for every event


class QueryRefused(Exception):
    """A document over a limit; `code` and `extensions` go into the GraphQL error."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.extensions = code, message, extensions


@dataclass(frozen=True)
class Shape:
    """Measures of a selection set for one parent object (fragments expanded)."""

    cost: int = 0
    selections: int = 0
    aliases: int = 0
    depth: int = 0
    nesting: int = 0

    def __add__(self, other: Shape) -> Shape:
        return Shape(
            self.cost + other.cost,
            self.selections + other.selections,
            self.aliases + other.aliases,
            max(self.depth, other.depth),
            max(self.nesting, other.nesting),
        )

    def nested(self) -> Shape:
        """This shape one selection set further in."""
        return replace(self, nesting=self.nesting + 1)


EMPTY = Shape()


@dataclass(frozen=True)
class Analysis:
    """The measures of a document: `cost` of the operation to run, the rest of the document
    as graphql-core will validate it."""

    cost: int
    depth: int
    aliases: int
    selections: int


class CostModel:
    """Measures documents against one schema. `caps` maps (type, field) to the longest a plain
    list field may be (its `MaxItems`)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        caps: Mapping[tuple[str, str], int],
        *,
        default_page: int,
        max_page: int,
        field_costs: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.schema, self.caps = schema, dict(caps)
        self.default_page, self.max_page = default_page, max_page
        # Fields whose work is not their objects (an aggregate, an optimiser call): their own
        # cost, from their `Cost` extension, paid each time they are selected.
        self.field_costs = dict(field_costs or {})
        self._memory: dict[_Measured, Analysis] = {}

    def uncapped_lists(self) -> list[tuple[str, str]]:
        """Plain list-of-object fields with neither a cap nor a size argument (should be none:
        their cost could not be bounded)."""
        found = []
        for type_ in self.schema.type_map.values():
            if type_.name.startswith("__") or _is_connection(type_):
                continue
            if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
                continue
            for name, field in type_.fields.items():
                if not _is_object_list(field) or (type_.name, name) in self.caps:
                    continue
                if not any(a in field.args for a in (*COUNT_ARGUMENTS, *LIST_ARGUMENTS)):
                    found.append((type_.name, name))
        return found

    def analyse(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        limits: Limits,
    ) -> Analysis:
        """Measure `document`; raise `QueryRefused` when it passes one of `limits`.

        Measures are remembered per (document, operation, variables, limits): the parser's
        cache hands out one document object per text, so a client repeating its queries pays
        the walk once (it was ~150 µs of a 3 ms request). Refusals are measured again."""
        values = variables or {}
        try:
            shape = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not JSON (an int past 64 bits …): measure without remembering
            return self._measure(document, operation_name, values, limits)
        return self._remembered(_Measured(document, operation_name, values, limits, shape))

    def _measure(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> Analysis:
        walk = _Walk(self, document, variables, limits)
        try:
            return walk.run(operation_name)
        except RecursionError:
            raise QueryRefused(QUERY_TOO_COMPLEX, "the document is nested too deeply") from None

    def _remembered(self, key: _Measured) -> Analysis:
        found = self._memory.get(key)
        if found is not None:
            return found
        analysis = self._measure(key.document, key.operation_name, key.variables, key.limits)
        if len(self._memory) >= MEASURES_KEPT:
            # The oldest goes (FIFO is enough here); another thread may have changed it.
            with contextlib.suppress(StopIteration, RuntimeError):
                self._memory.pop(next(iter(self._memory)), None)
        self._memory[key] = analysis
        return analysis


MEASURES_KEPT = 2_048


class _Measured:
    """A key of `CostModel._memory`: the document by identity (it is kept alive with the key, so
    its id cannot be reused), the variables by their canonical JSON."""

    __slots__ = ("_hash", "_same", "document", "limits", "operation_name", "variables")

    def __init__(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any],
        limits: Limits,
        shape: bytes,
    ) -> None:
        self.document, self.operation_name = document, operation_name
        self.variables, self.limits = variables, limits
        self._same = (id(document), operation_name, shape, limits)
        self._hash = hash(self._same)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Measured)
            and other.document is self.document
            and other._same == self._same
        )


def _is_connection(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and "pageInfo" in type_.fields


def _is_object_list(field: GraphQLField) -> bool:
    field_type = get_nullable_type(field.type)
    return is_list_type(field_type) and not is_leaf_type(get_named_type(field_type))


class _Walk:
    """One analysis: memoised fragment shapes and the running checks."""

    def __init__(
        self,
        model: CostModel,
        document: DocumentNode,
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.model, self.variables, self.limits = model, variables, limits
        _check_variables(variables, limits.max_variable_values)
        self.operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        if len(self.operations) > limits.max_operations:
            raise QueryRefused(
                QUERY_TOO_COMPLEX,
                f"{len(self.operations)} operations in one document; at most "
                f"{limits.max_operations} are allowed",
                operations=len(self.operations),
                limit=limits.max_operations,
            )
        fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
        if len(fragments) > limits.max_fragments:
            raise QueryRefused(
                QUERY_TOO_COMPLEX,
                f"{len(fragments)} fragments; at most {limits.max_fragments} are allowed",
                fragments=len(fragments),
                limit=limits.max_fragments,
            )
        self.fragments = {f.name.value: f for f in fragments}
        # Defaults of the operations' variables: a variable left out takes its default.
        # (Operations may give one name different defaults: the largest page counts.)
        self.defaults: dict[str, ValueNode] = {}
        for operation in self.operations:
            for definition in operation.variable_definitions or ():
                default = definition.default_value
                if default is None:
                    continue
                name = definition.variable.name.value
                known = self.defaults.get(name)
                if known is None or (self._int(default) or 0) > (self._int(known) or 0):
                    self.defaults[name] = default
        self.memo: dict[str, Shape] = {}
        self.fragment_keys: dict[str, Counter[str]] = {}
        self.visiting: set[str] = set()

    def run(self, operation_name: str | None) -> Analysis:
        shapes: dict[int, Shape] = {}
        for index, operation in enumerate(self.operations):
            self._directives(operation)
            root = self._root_type(operation)
            shape = self._selection_set(operation.selection_set, root, introspection=None)
            if operation.operation is OperationType.MUTATION:
                fields = sum(
                    1 for s in operation.selection_set.selections if isinstance(s, FieldNode)
                )
                shape = shape + Shape(cost=MUTATION_COST * fields)
            shapes[index] = shape
        # graphql-core validates every definition, used or not: size and aliases count them all
        for name in self.fragments:
            self._fragment(name)
        nesting = max([s.nesting for s in (*shapes.values(), *self.memo.values())] or [0])
        if nesting > self.limits.max_nesting:
            raise QueryRefused(
                QUERY_TOO_DEEP,
                f"selections nested {nesting} deep (fields and fragments); at most "
                f"{self.limits.max_nesting} are allowed",
                nesting=nesting,
                limit=self.limits.max_nesting,
            )
        selections = sum(s.selections for s in shapes.values())
        selections += sum(s.selections for n, s in self.memo.items() if not self._used(n))
        self._check_size(selections)
        chosen = self._chosen(operation_name)
        measured = [shapes[i] for i in chosen] or [EMPTY]
        depth = max(s.depth for s in measured)
        aliases = max(s.aliases for s in measured)
        cost = max(s.cost for s in measured)
        limits = self.limits
        max_cost = limits.max_cost
        if any(self.operations[i].operation is OperationType.SUBSCRIPTION for i in chosen):
            max_cost = min(max_cost, limits.max_subscription_cost)
        if depth > limits.max_depth:
            raise QueryRefused(
                QUERY_TOO_DEEP,
                f"the query is {depth} levels deep; at most {limits.max_depth} are allowed",
                depth=depth,
                limit=limits.max_depth,
            )
        if aliases > limits.max_aliases:
            raise QueryRefused(
                TOO_MANY_ALIASES,
                f"{aliases} aliases found (fragments expanded); at most {limits.max_aliases} "
                "are allowed",
                aliases=aliases,
                limit=limits.max_aliases,
            )
        if cost > max_cost:
            raise QueryRefused(
                QUERY_TOO_COSTLY,
                f"the query may cost {cost} points; at most {max_cost} are allowed "
                "(ask for smaller pages or fewer nested lists)",
                cost=cost,
                limit=max_cost,
            )
        return Analysis(cost=cost, depth=depth, aliases=aliases, selections=selections)

    def _used(self, name: str) -> bool:
        # Fragments reached from an operation are inside its shape already.
        return name in self._reached

    @property
    def _reached(self) -> set[str]:
        reached = getattr(self, "_reached_cache", None)
        if reached is None:
            reached = set()
            stack = [op.selection_set for op in self.operations]
            while stack:
                selection_set = stack.pop()
                for selection in selection_set.selections:
                    if isinstance(selection, FragmentSpreadNode):
                        name = selection.name.value
                        if name not in reached and name in self.fragments:
                            reached.add(name)
                            stack.append(self.fragments[name].selection_set)
                    elif (
                        isinstance(selection, FieldNode | InlineFragmentNode)
                        and selection.selection_set is not None
                    ):
                        stack.append(selection.selection_set)
            self._reached_cache = reached
        return reached

    def _chosen(self, operation_name: str | None) -> list[int]:
        """The operations that may run: the named one, else every one (the request is refused
        later if that is ambiguous; measuring them all keeps the estimate an upper bound)."""
        if operation_name is None:
            return list(range(len(self.operations)))
        return [
            i
            for i, op in enumerate(self.operations)
            if op.name is not None and op.name.value == operation_name
        ]

    def _check_size(self, selections: int) -> None:
        if selections > self.limits.max_selections:
            raise QueryRefused(
                QUERY_TOO_COMPLEX,
                f"the document selects {selections} fields once its fragments are expanded; "
                f"at most {self.limits.max_selections} are allowed",
                selections=selections,
                limit=self.limits.max_selections,
            )

    def _root_type(self, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
        schema = self.model.schema
        return {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }[operation.operation]

    def _directives(self, node: Any) -> None:
        directives = node.directives or ()
        if len(directives) > self.limits.max_directives:
            raise QueryRefused(
                QUERY_TOO_COMPLEX,
                f"{len(directives)} directives in one place; at most "
                f"{self.limits.max_directives} are allowed",
                directives=len(directives),
                limit=self.limits.max_directives,
            )

    def _fragment(self, name: str) -> Shape:
        shape = self.memo.get(name)
        if shape is not None:
            return shape
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return EMPTY  # unknown or cyclic: validation refuses the document
        self.visiting.add(name)
        self._directives(fragment)
        type_ = self.model.schema.get_type(fragment.type_condition.name.value)
        shape, self.fragment_keys[name] = self._checked(fragment.selection_set, type_, None)
        self.visiting.discard(name)
        self.memo[name] = shape
        # A fragment's expansion alone can pass the size limit: stop before multiplying it.
        self._check_size(shape.selections)
        return shape

    def _selection_set(
        self, selection_set: SelectionSetNode, parent: Any, *, introspection: int | None
    ) -> Shape:
        """Shape of `selection_set` on one object of type `parent` (None: unknown type).
        `introspection` counts the introspection lists above, None outside introspection."""
        return self._checked(selection_set, parent, introspection)[0]

    def _checked(
        self, selection_set: SelectionSetNode, parent: Any, introspection: int | None
    ) -> tuple[Shape, Counter[str]]:
        shape, keys = self._merged(selection_set, parent, introspection)
        if keys:
            key, count = keys.most_common(1)[0]
            if count > self.limits.max_same_field:
                # graphql-core compares every pair of fields with one response name (and their
                # sub-selections): duplicates cost quadratic time, and no client needs many.
                raise QueryRefused(
                    QUERY_TOO_COMPLEX,
                    f"'{key[:32]}' is selected {count} times in one place; at most "
                    f"{self.limits.max_same_field} are allowed",
                    field=key[:32],
                    limit=self.limits.max_same_field,
                )
        return shape, keys

    def _merged(
        self, selection_set: SelectionSetNode, parent: Any, introspection: int | None
    ) -> tuple[Shape, Counter[str]]:
        """Shape of a selection set and the response keys it contributes to its level (inline
        fragments and spreads merge into it; a fragment spread twice counts once, as
        graphql-core compares it once)."""
        total, keys = EMPTY, Counter[str]()
        spread: set[str] = set()
        for selection in selection_set.selections:
            self._directives(selection)
            if isinstance(selection, FieldNode):
                total = total + self._field(selection, parent, introspection)
                keys[(selection.alias or selection.name).value] += 1
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                type_ = self.model.schema.get_type(condition.name.value) if condition else parent
                shape, inner = self._merged(selection.selection_set, type_, introspection)
                total = total + shape.nested()
                keys.update(inner)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                shape = self._fragment(name)
                total = total + shape.nested()
                if name not in spread:
                    spread.add(name)
                    keys.update(self.fragment_keys.get(name, {}))
        return total, keys

    def _field(self, node: FieldNode, parent: Any, introspection: int | None) -> Shape:
        own = Shape(selections=1, aliases=1 if node.alias is not None else 0)
        if node.selection_set is None:
            return own
        name = node.name.value
        field = _field_of(parent, name)
        child_type = get_named_type(field.type) if field is not None else None
        if introspection is not None or name in ("__schema", "__type"):
            return own + self._introspection(node, name, child_type, introspection or 0)
        child = self._selection_set(node.selection_set, child_type, introspection=None)
        if field is None:
            return own + Shape(0, child.selections, child.aliases, 1 + child.depth).nested()
        own_cost = self.model.field_costs.get((getattr(parent, "name", ""), name), 0)
        if child_type is not None and _is_connection(child_type):
            # The page multiplies the whole selection (pageInfo too: a small overestimate that
            # keeps fragment shapes independent of where they are spread).
            cost = CONNECTION_COST + self._page(node) * child.cost
        else:
            cost = self._length(node, parent, name, field) * (1 + child.cost)
        shape = Shape(
            own_cost + cost, child.selections, child.aliases, 1 + child.depth, child.nesting
        )
        return own + shape.nested()

    def _introspection(self, node: FieldNode, name: str, child_type: Any, lists: int) -> Shape:
        if name in INTROSPECTION_LISTS:
            lists += 1
            if lists > MAX_INTROSPECTION_LISTS:
                raise QueryRefused(
                    QUERY_TOO_COMPLEX,
                    f"introspection lists nested more than {MAX_INTROSPECTION_LISTS} deep",
                    limit=MAX_INTROSPECTION_LISTS,
                )
        assert node.selection_set is not None
        child = self._selection_set(node.selection_set, child_type, introspection=lists)
        cost = INTROSPECTION_COST if name in ("__schema", "__type") else 0
        # Introspection does not count towards the depth limit (as Strawberry's limiter).
        return Shape(cost, child.selections, child.aliases, 0, child.nesting + 1)

    def _length(self, node: FieldNode, parent: Any, name: str, field: GraphQLField) -> int:
        """How many objects a field returns at most (1 unless it is a list)."""
        if not is_list_type(get_nullable_type(field.type)):
            return 1
        if parent is not None and _is_connection(parent) and name in ("nodes", "edges"):
            return 1  # the page: its size multiplied the connection's selection already
        cap = self.model.caps.get((getattr(parent, "name", ""), name))
        for argument in node.arguments or ():
            arg = argument.name.value
            if arg in COUNT_ARGUMENTS:
                n = self._int(argument.value)
                if n is not None:
                    return max(0, min(n, cap)) if cap is not None else max(0, n)
            elif arg in LIST_ARGUMENTS:
                n = self._list_length(argument.value)
                if n is not None:
                    return n
        if cap is not None:
            return cap
        size = field.args.get("limit") or field.args.get("first")
        if size is not None and isinstance(size.default_value, int):
            return size.default_value
        return self.model.max_page  # not reached once every list has a cap (tested)

    def _page(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                n = self._int(argument.value)
                if n is not None:
                    # An oversize page is refused when it runs; measure what may run.
                    return max(0, min(n, self.model.max_page))
        return self.model.default_page

    def _value(self, value: ValueNode) -> Any:
        if isinstance(value, VariableNode):
            name = value.name.value
            if name in self.variables:
                return self.variables[name]
            return self.defaults.get(name)
        return value

    def _int(self, value: ValueNode) -> int | None:
        found = self._value(value)
        if isinstance(found, IntValueNode):
            try:
                return int(found.value)
            except ValueError:
                return None
        if isinstance(found, int) and not isinstance(found, bool):
            return found
        if isinstance(found, float) and found.is_integer():  # graphql-core takes 100.0 as Int
            return int(found)
        return None

    def _list_length(self, value: ValueNode) -> int | None:
        found = self._value(value)
        if isinstance(found, ListValueNode):
            return len(found.values)
        if isinstance(found, list):
            return len(found)
        return 1 if found is not None else None


def _field_of(parent: Any, name: str) -> GraphQLField | None:
    """The field `name` of an object or interface type (None: a union, or unknown)."""
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    return parent.fields.get(name)


def _check_variables(variables: Mapping[str, Any], limit: int) -> None:
    """Refuse variables holding more than `limit` values before graphql-core coerces them (its
    coercion of a 1 MB list takes the event loop for most of a second)."""
    count, stack = 0, [variables]
    while stack:
        value = stack.pop()
        count += 1
        if count > limit:
            raise QueryRefused(
                QUERY_TOO_COMPLEX,
                f"the variables hold more than {limit} values",
                limit=limit,
            )
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
