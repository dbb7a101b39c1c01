"""A faster executor for the many plain fields of a page: same results, less work per field.

graphql-core resolves every field the same way: build a resolve-info object, call the resolver,
check for awaitables, complete the value. For a plain attribute of a row (a title, a status, a
time) that is most of the cost of a page. `FastExecutor` keeps graphql-core's path for every
field that needs it (custom resolvers, objects, lists, arguments, errors) and, for the rest —
Strawberry fields without a resolver whose type is a scalar or enum — reads the attribute and
serialises it directly. The plan (which fields of a selection are plain) is computed once per
selection and request, then reused for every item of a list. Any surprise (a missing
attribute, a null in a non-null field, a value the scalar refuses) falls back to the ordinary
path, which reports the error as graphql-core would.

Lists of objects whose selected fields are all plain — leaves, or objects read as plain
attributes (a to-one relation joined into the page's statement) whose fields are plain in turn
— are completed in one tight loop (`complete_list_value`), without graphql-core's per-item
path, type check call chain and per-field bookkeeping; anything else in such a list (an
awaitable, a null in a non-null field, a refused value) sends the whole list back to the
ordinary path.

To-many fields declared with `children_field` (api/graphql/relay/loaders.py: the rows of a
table whose foreign key is the parent's key, behind permission classes and a `MaxItems` cap)
join that loop too: the permission classes are asked once per request (only those whose answer
depends on the caller alone, `same_for_every_object`; a refusal sends the list to the ordinary
path, which reports it per object as before), every parent's key goes to the field's loader at
once (one statement, the loader's cache shared with the ordinary path), and each parent's list
is cut to the cap and completed in the same loop, without a resolver call, extension chain,
future and task per parent.

The fields of a single object (`need(id:)`) take the same loop where they can: an object read
as a plain attribute (its joined community) and a list field answered from children folded
into the object's own statement (`relay.folds`: a need's events on PostgreSQL), when the field
has no arguments and no extension but its cap; anything else there goes the ordinary way.

`fast_enums(schema)` replaces Strawberry's enum output coercion (a loop over the values) with
a dictionary lookup.

Both lean on graphql-core's execution internals (`execute_fields`, `execute_field`, the
grouped field set's `FieldDetails`), so they live here alone and only run when
`LULING_EXECUTOR=fast` (the default); `LULING_EXECUTOR=strawberry` runs Strawberry's own
executor, and CI runs the API tests under both (`.ci/run`). Both are freed by reference
counting when their request ends (`ReleasedExecutor`: no cycle through graphql-core's async
helpers).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry import Schema
from strawberry.permission import PermissionExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info as StrawberryInfo

from api.graphql.lists import MaxItems
from api.graphql.relay.folds import FOLDED_ATTRIBUTE
from api.graphql.relay.loaders import CHILDREN_ATTRIBUTE

_T = TypeVar("_T")
_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF  # a GraphQL field's Strawberry field


def _per_field(decide: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """`decide(field_def)` once per field of the schema (its answer depends on the field
    alone), then looked up by identity: plans are made per request, for every field."""
    found: dict[int, tuple[Any, _T]] = {}

    def decided(field_def: Any) -> _T:
        hit = found.get(id(field_def))
        if hit is not None and hit[0] is field_def:
            return hit[1]
        answer = decide(field_def)
        found[id(field_def)] = (field_def, answer)  # holding the field keeps its id unique
        return answer

    return decided


@_per_field
def _plain_leaf(field_def: Any) -> tuple[str, Any, bool] | None:
    """(python attribute, leaf type, non-null) for a plain Strawberry leaf field, else None:
    no resolver (Strawberry reads the attribute), no arguments, no field extensions."""
    if field_def.args:
        return None
    definition = (field_def.extensions or {}).get(_DEFINITION)
    if definition is None or definition.base_resolver is not None or definition.extensions:
        return None
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    leaf = field_type.of_type if non_null else field_type
    if not isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)):
        return None
    return definition.python_name, leaf, non_null


@_per_field
def _plain_object(field_def: Any) -> tuple[str, GraphQLObjectType, bool] | None:
    """(python attribute, object type, non-null) for an object field read as a plain
    attribute (no resolver, arguments or extensions: no permission check), else None."""
    if field_def.args:
        return None
    definition = (field_def.extensions or {}).get(_DEFINITION)
    if definition is None or definition.base_resolver is not None or definition.extensions:
        return None
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    target = field_type.of_type if non_null else field_type
    if not isinstance(target, GraphQLObjectType):
        return None
    return definition.python_name, target, non_null


@_per_field
def _children(field_def: Any) -> tuple[Any, int, list[Any], Any, bool, bool] | None:
    """(spec, cap, permissions, item type, item non-null, list non-null) for a field declared
    with `children_field` whose extensions are its permission classes (each answering the
    same for every object) and its cap; else None."""
    if field_def.args:
        return None
    definition = (field_def.extensions or {}).get(_DEFINITION)
    resolver = definition.base_resolver if definition is not None else None
    spec = getattr(resolver.wrapped_func, CHILDREN_ATTRIBUTE, None) if resolver else None
    if spec is None or definition is None:  # (a spec comes only with a definition)
        return None
    cap, permissions = None, []
    for extension in definition.extensions:
        if isinstance(extension, MaxItems) and cap is None:
            cap = extension.cap
        elif (
            type(extension) is PermissionExtension
            and not extension.fail_silently
            and all(getattr(p, "same_for_every_object", False) for p in extension.permissions)
        ):
            permissions.extend(extension.permissions)
        else:
            return None
    items = _list_of_objects(field_def.type)
    if cap is None or items is None:
        return None
    return spec, cap, permissions, *items


def _list_of_objects(field_type: Any) -> tuple[GraphQLObjectType, bool, bool] | None:
    """(item type, item non-null, list non-null) of a list of objects, else None."""
    list_non_null = isinstance(field_type, GraphQLNonNull)
    list_type = field_type.of_type if list_non_null else field_type
    if not isinstance(list_type, GraphQLList):
        return None
    item_type = list_type.of_type
    item_non_null = isinstance(item_type, GraphQLNonNull)
    if item_non_null:
        item_type = item_type.of_type
    if not isinstance(item_type, GraphQLObjectType):
        return None
    return item_type, item_non_null, list_non_null


@_per_field
def _folded(field_def: Any) -> tuple[str, int, GraphQLObjectType, bool, bool] | None:
    """(object attribute, cap, item type, item non-null, list non-null) for a list field whose
    resolver answers from its object's folded children (`relay.folds.folded`) and whose only
    extension is its cap; else None. Only used where the field node has no arguments."""
    definition = (field_def.extensions or {}).get(_DEFINITION)
    resolver = definition.base_resolver if definition is not None else None
    key = getattr(resolver.wrapped_func, FOLDED_ATTRIBUTE, None) if resolver else None
    if key is None or definition is None or len(definition.extensions) != 1:
        return None
    (cap,) = definition.extensions
    items = _list_of_objects(field_def.type)
    if not isinstance(cap, MaxItems) or items is None:
        return None
    return key, cap.cap, *items


def _discard(value: Any) -> None:
    """A plain attribute that gave a coroutine (a value decided by a query, e.g. a need's
    title for a caller who may be dispatched to it) is read again by the ordinary path, which
    awaits it: close this one unawaited."""
    if isinstance(value, Coroutine):
        value.close()


def _weak_helpers(executor: Any) -> GraphQLResolveInfoHelpers:
    """The executor's async helpers without a strong reference back to it. Work still in
    flight holds its executor (its frames), so the reference is alive whenever a resolver
    can call them."""
    ref = weakref.ref(executor)

    def track(values: Any) -> None:
        alive = ref()
        if alive is not None:
            alive.track_async_work(values)

    def gather(values: Any) -> Any:
        alive = ref()
        return alive.gather_async_work(values) if alive is not None else gather_with_cancel(*values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


_NOT_DONE = object()
# Tags of `_plan`'s entries the static loop completes (`_static_field`).
_OBJECT, _FOLDED = object(), object()


class _Fallback(Exception):
    """A list the tight loop cannot complete: the ordinary path completes it instead."""


# (response name, python attribute, leaf type or None, object type or None, non-null,
#  the field's details list, leaf kind) for each field of a static selection.
_StaticPlan = list[tuple[str, str, Any, Any, bool, Any, int]]

# Leaf kinds whose values of their own Python type are already what graphql-core would give.
_OTHER, _STR, _INT, _BOOL = 0, 1, 2, 3
_CHILDREN = 4  # a `children_field`: completed after one load for the whole list
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1


def _kind(leaf: Any) -> int:
    if leaf is GraphQLString or leaf is GraphQLID:
        return _STR
    if leaf is GraphQLInt:
        return _INT
    if leaf is GraphQLBoolean:
        return _BOOL
    return _OTHER


class ReleasedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, freed when its request ends (`LULING_EXECUTOR=strawberry`).

    graphql-core's async helpers are bound methods of the executor, which holds them: a cycle
    that left every request's executor, its plans and collected fields (about a hundred
    objects), and whatever they reach (the request's context, its loaders, their rows), to the
    cyclic collector, whose pauses under load were the p99 of a small query. Through a weak
    reference the executor is freed by reference counting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _weak_helpers(self)


class FastExecutor(ReleasedExecutor):
    """graphql-core's executor with a shortcut for plain leaf fields (see module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[int, tuple[Any, list[tuple[str, Any, Any]] | None]] = {}
        self._static_by_details: dict[tuple[int, int], tuple[Any, _StaticPlan | None]] = {}
        # (object type, Python class) pairs whose `is_type_of` passed: row types are plain
        # classes (no per-object type casts), so one check per class and request suffices.
        self._type_checked: set[tuple[GraphQLObjectType, type]] = set()
        manager = self.middleware_manager
        self._no_middleware = manager is None or not getattr(manager, "middlewares", ())

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: Any
    ) -> list[tuple[str, Any, Any]] | None:
        key = id(grouped_field_set)
        hit = self._plans.get(key)
        if hit is not None and hit[0] is grouped_field_set:
            return hit[1]
        plan: list[tuple[str, Any, Any]] | None = []
        fast = 0
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            shortcut: Any = None
            if field_def is not None and not node.arguments:
                shortcut = _plain_leaf(field_def)
                if shortcut is None:
                    # An object read as a plain attribute, or a list of folded children:
                    # completed by the static loop (`_static_field`), tagged first.
                    obj = _plain_object(field_def)
                    found = (obj[0], obj[1]) if obj is not None else _folded(field_def)
                    if found is not None:
                        shortcut = (_OBJECT if obj is not None else _FOLDED, field_def, *found)
            fast += shortcut is not None
            plan.append((response_name, field_details_list, shortcut))  # type: ignore[union-attr]  # plan is a list on this path
        if not fast:
            plan = None
        self._plans[key] = (grouped_field_set, plan)  # holding it keeps its id unique
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set) if self._no_middleware else None
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, leaf in plan:
                if leaf is not None and (leaf[0] is _OBJECT or leaf[0] is _FOLDED):
                    done = self._static_field(
                        parent_type, source_value, path, response_name, field_details_list, leaf
                    )
                    if done is not _NOT_DONE:
                        results[response_name] = done
                        continue
                elif leaf is not None:
                    python_name, leaf_type, non_null = leaf
                    value = None
                    try:
                        value = getattr(source_value, python_name)
                        if value is None:
                            if not non_null:
                                results[response_name] = None
                                continue
                        else:
                            coerced = leaf_type.coerce_output_value(value)
                            if coerced is not None and coerced is not Undefined:
                                results[response_name] = coerced
                                continue
                    except Exception:
                        _discard(value)
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    def _static_field(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        response_name: str,
        field_details_list: Any,
        shortcut: Any,
    ) -> Any:
        """A field of one object completed by the static loop: an object read as a plain
        attribute (a joined to-one relation) or the folded children of a list field. Whatever
        the loop cannot complete without awaiting (a loader's future, a resolver below, a
        `children_field`) answers `_NOT_DONE`: the ordinary path completes it."""
        tag, field_def = shortcut[0], shortcut[1]
        if tag is _OBJECT:
            value = getattr(source_value, shortcut[2], None)
            if value is None or self.is_awaitable(value):
                _discard(value)
                return _NOT_DONE  # a null is checked against the type by the ordinary path
        else:
            value = source_value.__dict__.get(shortcut[2])
            if value is None:
                return _NOT_DONE
        info = self.build_resolve_info(
            field_def,
            [d.node for d in field_details_list],
            parent_type,
            Path(path, response_name, parent_type.name),
        )
        pending: list[Any] = []
        try:
            if tag is _OBJECT:
                sub_type = shortcut[3]
                plan = self._static_plan(sub_type, field_details_list, info)
                if plan is None:
                    return _NOT_DONE
                done: Any = self._static_object(sub_type, plan, value, True, info, pending)
            else:
                _key, cap, item_type, item_non_null, _list_non_null = shortcut[2:]
                plan = self._static_plan(item_type, field_details_list, info)
                if plan is None:
                    return _NOT_DONE
                complete = self._static_object
                done = [
                    complete(item_type, plan, item, item_non_null, info, pending)
                    for item in value[:cap]
                ]
        except _Fallback:
            return _NOT_DONE
        return _NOT_DONE if pending else done

    def complete_list_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self._no_middleware and isinstance(result, list) and result:
            item_type = return_type.of_type
            non_null = isinstance(item_type, GraphQLNonNull)
            if non_null:
                item_type = item_type.of_type
            if isinstance(item_type, GraphQLObjectType):
                plan = self._static_plan(item_type, field_details_list, info)
                if plan is not None:
                    complete = self._static_object
                    pending: list[Any] = []
                    try:
                        done = [
                            complete(item_type, plan, item, non_null, info, pending)
                            for item in result
                        ]
                    except _Fallback:
                        pass
                    else:
                        if not pending:
                            return done
                        return self._complete_children(
                            done,
                            pending,
                            (return_type, field_details_list, info, path, result, position_context),
                        )
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    async def _complete_children(
        self, done: list[Any], pending: list[Any], ordinary: tuple[Any, ...]
    ) -> list[Any]:
        """Fill in the `children_field` lists of a completed list: per field, one load of
        every parent's key; their items completed in the same loop (their own children next).
        Anything unexpected: the whole list by the ordinary path instead."""
        info = ordinary[2]
        try:
            while pending:
                by_spec: dict[int, list[Any]] = {}
                for entry in pending:
                    by_spec.setdefault(id(entry[2][0]), []).append(entry)
                current, pending = by_spec.values(), []
                for entries in current:
                    keys = [e[3] for e in entries]
                    loaded = await entries[0][2][0].load_all(info.context, keys)
                    for (out, name, children, _key, details), items in zip(
                        entries, loaded, strict=True
                    ):
                        _spec, cap, _perms, item_type, item_non_null, list_non_null = children
                        if items is None:
                            if list_non_null:
                                raise _Fallback
                            out[name] = None
                            continue
                        if len(items) > cap:
                            items = items[:cap]
                        plan = self._static_plan(item_type, details, info)
                        if plan is None:
                            raise _Fallback
                        out[name] = [
                            self._static_object(item_type, plan, item, item_non_null, info, pending)
                            for item in items
                        ]
        except Exception:
            result = super().complete_list_value(*ordinary)
            if self.is_awaitable(result):
                result = await result
            return result  # type: ignore[return-value]  # graphql-core's is_awaitable is no TypeGuard
        return done

    def _static_plan(
        self, object_type: GraphQLObjectType, field_details_list: Any, info: Any
    ) -> Any:
        """The static plan of a selection on `object_type`; None if a field is not plain.
        Computed once per (type, selection) and request, then reused for every item."""
        key = (id(object_type), id(field_details_list))
        hit = self._static_by_details.get(key)
        if hit is not None and hit[0] is field_details_list:
            return hit[1]
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        steps: _StaticPlan = []
        plan: _StaticPlan | None = steps
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            field_def = self.schema.get_field(object_type, node.name.value)
            if field_def is None or node.arguments or new_defer_usages:
                plan = None
                break
            leaf = _plain_leaf(field_def)
            if leaf is not None:
                steps.append(
                    (response_name, leaf[0], leaf[1], None, leaf[2], details, _kind(leaf[1]))
                )
                continue
            obj = _plain_object(field_def)
            if obj is None:
                children = _children(field_def)
                if children is None or not self._allowed(children[2], field_def, info):
                    plan = None
                    break
                steps.append((response_name, "pk", None, children, False, details, _CHILDREN))
                continue
            steps.append((response_name, obj[0], None, obj[1], obj[2], details, 0))
        # Holding the details keeps their id unique while the entry lives.
        self._static_by_details[key] = (field_details_list, plan)
        return plan

    def _allowed(self, permissions: list[Any], field_def: Any, info: Any) -> bool:
        """Whether the caller passes these permissions (answering the same for every
        object): asked once, when the plan is made. A refusal (or error) leaves the field to
        the ordinary path, which refuses it per object as before."""
        if not permissions:
            return True
        strawberry_info = StrawberryInfo(_raw_info=info, _field=field_def.extensions[_DEFINITION])
        try:
            return all(p.has_permission(None, strawberry_info) is True for p in permissions)
        except Exception:
            return False

    def _static_object(
        self,
        object_type: GraphQLObjectType,
        plan: _StaticPlan,
        item: Any,
        non_null: bool,
        info: Any,
        pending: list[Any],
    ) -> dict[str, Any] | None:
        if item is None:
            if non_null:
                raise _Fallback
            return None
        cls = type(item)
        checked = self._type_checked
        if (object_type, cls) not in checked:
            is_type_of = object_type.is_type_of
            if is_type_of is not None and is_type_of(item, info) is not True:
                raise _Fallback
            checked.add((object_type, cls))
        out: dict[str, Any] = {}
        for response_name, python_name, leaf_type, sub_type, field_non_null, details, kind in plan:
            try:
                value = getattr(item, python_name)
            except Exception:
                raise _Fallback from None
            if leaf_type is not None:
                if value is None:
                    if field_non_null:
                        raise _Fallback
                    out[response_name] = None
                    continue
                # The common scalars of their own Python type need no coercion call.
                t = type(value)
                if (kind == _STR and t is str) or (kind == _BOOL and t is bool):
                    out[response_name] = value
                    continue
                if kind == _INT and t is int and _MIN_INT <= value <= _MAX_INT:
                    out[response_name] = value
                    continue
                try:
                    coerced = leaf_type.coerce_output_value(value)
                except Exception:
                    _discard(value)
                    raise _Fallback from None
                if coerced is None or coerced is Undefined:
                    raise _Fallback
                out[response_name] = coerced
            elif kind == _CHILDREN:  # filled in by `_complete_children`
                out[response_name] = None
                pending.append((out, response_name, sub_type, value, details))  # value: its key
            else:
                if self.is_awaitable(value):  # a relation not joined: a loader's (shared)
                    raise _Fallback  # future, which the ordinary path awaits
                if value is None:
                    if field_non_null:
                        raise _Fallback
                    out[response_name] = None
                    continue
                sub_plan = self._static_plan(sub_type, details, info)
                if sub_plan is None:
                    raise _Fallback
                out[response_name] = self._static_object(
                    sub_type, sub_plan, value, field_non_null, info, pending
                )
        return out

    async def _gather_fields(
        self, results: dict[str, Any], awaitable_fields: list[str]
    ) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            name = awaitable_fields[0]
            results[name] = await results[name]
        else:
            values = await gather_with_cancel(*(results[f] for f in awaitable_fields))
            results.update(zip(awaitable_fields, values, strict=True))
        return results


def fast_enums(schema: Schema) -> None:
    """Coerce Strawberry enums for output by dictionary lookup, not a loop over their values."""
    graphql_schema: GraphQLSchema = schema._schema
    for graphql_type in graphql_schema.type_map.values():
        wrapped = getattr(graphql_type, "wrapped_cls", None)
        if not isinstance(graphql_type, GraphQLEnumType) or wrapped is None:
            continue
        names = {}
        for name, value in graphql_type.values.items():
            for member in wrapped:
                if member.value == value.value:
                    names[member] = name
        original = graphql_type.coerce_output_value

        def coerce(output_value: Any, _names: dict = names, _original: Any = original) -> Any:
            try:
                return _names[output_value]
            except (KeyError, TypeError):
                return _original(output_value)

        graphql_type.coerce_output_value = coerce  # type: ignore[method-assign]  # per-type output coercion, set on purpose
