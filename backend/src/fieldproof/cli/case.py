"""`fieldproof client case ...`: group captures into a case, list it, export it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fieldproof.cli.client import _client, client
from fieldproof.cli.common import fail
from fieldproof.errors import FieldProofError


@client.group()
def case() -> None:
    """Cases: captures grouped by dispute, with a signed evidence list (证据目录)."""


def _party(text: str) -> dict[str, str]:
    role, sep, name = text.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"{text!r}: use ROLE:NAME, e.g. 原告:张三 or plaintiff:Li Wei")
    return {"role": role.strip(), "name": name.strip()}


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@case.command("create")
@click.argument("title")
@click.option("--party", "parties", multiple=True, metavar="ROLE:NAME",
              help="a party to the dispute; repeatable")
@click.option("--note", default=None, help="a note about the case")
@click.option("--json", "as_json", is_flag=True, help="print the case as JSON")
@click.pass_context
def create(ctx: click.Context, title: str, parties: tuple[str, ...], note: str | None,
           as_json: bool) -> None:
    """Make a case named TITLE; prints its id."""
    made = [_party(p) for p in parties]
    api = _client(ctx)
    try:
        body = api.create_case(title, parties=made, note=note)
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        _echo_json(body)
    else:
        click.echo(body["id"])


@case.command("add")
@click.argument("case_id")
@click.argument("capture_id")
@click.option("--title", default=None, help="its name in the evidence list")
@click.option("--purpose", default=None, help="what it proves (证明目的)")
@click.pass_context
def add(ctx: click.Context, case_id: str, capture_id: str, title: str | None,
        purpose: str | None) -> None:
    """Append CAPTURE_ID to the case CASE_ID's evidence list."""
    api = _client(ctx)
    try:
        item = api.add_case_item(case_id, capture_id, title=title, purpose=purpose)
    except FieldProofError as err:
        fail(err)
        return
    click.echo(f"{item['position']} {item['capture_id']} {item['title'] or ''}".rstrip())


@case.command("list")
@click.option("--json", "as_json", is_flag=True, help="print the cases as JSON")
@click.pass_context
def list_cases(ctx: click.Context, as_json: bool) -> None:
    """The cases, most recently changed first."""
    api = _client(ctx)
    try:
        items = api.cases()
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        _echo_json(items)
        return
    for c in items:
        click.echo(f"{c['id']}  {c['item_count']:>3} item(s)  {c['title']}")


@case.command("show")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True, help="print the case as JSON")
@click.pass_context
def show(ctx: click.Context, case_id: str, as_json: bool) -> None:
    """One case with its items in order."""
    api = _client(ctx)
    try:
        body = api.case(case_id)
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        _echo_json(body)
        return
    click.echo(f"{body['title']}  ({body['id']})")
    for p in body["parties"]:
        click.echo(f"  {p['role']}: {p['name']}" if p["role"] else f"  {p['name']}")
    if body["note"]:
        click.echo(f"  {body['note']}")
    for item in body["items"]:
        c = item["capture"]
        title = item["title"] or c.get("title") or "—"
        click.echo(f"{item['position']:>3}. {title}  [{c['kind']}, {c['status']}] "
                   f"{c['id']} sha256={c['media']['sha256'][:16]}…")
        if item["purpose"]:
            click.echo(f"     {item['purpose']}")


@case.command("export")
@click.argument("case_id")
@click.option("-o", "--output", "output", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="the zip to write")
@click.pass_context
def export(ctx: click.Context, case_id: str, output: Path) -> None:
    """Download the case export: every item's evidence bundle and the signed evidence list."""
    api = _client(ctx)
    try:
        size = api.export_case(case_id, output)
    except FieldProofError as err:
        fail(err)
        return
    click.echo(f"{output} ({size} bytes); check it with: fieldproof verify {output}")
