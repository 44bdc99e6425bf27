"""Rows a capability needs to know about, contributed by the capabilities built on it.

A lower capability sometimes asks a question only a higher one can answer: which funds
an organisation works with (its applications are intake's, its grants are grants'),
whether a call has applications, whether a donor has given to a fund. It names the
question as a `Link` and asks `rows(link)`; the capabilities that hold the rows register a
provider for it in their own `init_app`. The lower one never imports the higher, so the
packages keep one direction (platform ← accounts ← organisations ← funds ← ledger ← calls
← intake ← reviews ← grants ← …), and the answer is still one SQL statement: each
provider returns a SELECT of the columns the link names, and `rows` unions them.

A link with no provider answers nothing (an empty SELECT), as it would on a deployment
without the higher capability.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Select, literal, select, union_all
from sqlalchemy.sql.selectable import CompoundSelect, Subquery

Provider = Callable[[], Select[int, int]]

_KEY = "grantpool.links"


@dataclass(frozen=True)
class Link:
    """A question by name, with the two integer columns its providers select, in order."""

    name: str
    columns: tuple[str, str]


def provide(app: Flask, link: Link, provider: Provider) -> None:
    """Answer `link` in `app` with the rows `provider()` selects (two integer columns)."""
    app.extensions.setdefault(_KEY, {}).setdefault(link.name, []).append(provider)


def queries(link: Link) -> list[Select[int, int]]:
    """Each provider's SELECT for `link`, its columns named as the link names them."""
    providers: list[Provider] = current_app.extensions.get(_KEY, {}).get(link.name, [])
    return [_labelled(provider(), link) for provider in providers]


def rows(link: Link) -> Subquery:
    """Every provider's rows for `link` (UNION ALL), as one subquery."""
    selects = queries(link)
    if not selects:
        first, second = link.columns
        nothing = select(literal(0).label(first), literal(0).label(second)).where(literal(False))
        return nothing.subquery(link.name.replace(".", "_"))
    combined: Select[int, int] | CompoundSelect = (
        selects[0] if len(selects) == 1 else union_all(*selects)
    )
    return combined.subquery(link.name.replace(".", "_"))


def _labelled(query: Select[int, int], link: Link) -> Select[int, int]:
    columns = list(query.selected_columns)
    if len(columns) != 2:
        raise ValueError(f"A provider for {link.name} must select two columns.")
    return query.with_only_columns(
        *(column.label(name) for column, name in zip(columns, link.columns, strict=True)),
        maintain_column_froms=True,
    )
