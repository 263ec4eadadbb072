"""A small MCP server firefly was never tuned for, for the generic adapter's tests (stdio).

``python ledger.py`` serves a ledger: ``list_accounts`` (no arguments, no annotations) is
the only way to learn the account ids that ``get_balance`` requires; ``export_report``
answers an in-band error inside ``structuredContent`` (``{"result": "Error: ..."}``, isError
false); ``describe_code`` needs a code nothing grounds; ``delete_account`` and
``close_books`` (destructive) must never be called by a survey. It has one resource and one
prompt. ``python ledger.py one`` serves a single tool, ``get_fortune``. ``python ledger.py
batches`` serves ``post_entry``, which needs a ``batch_id`` that only ``open_batch`` makes, and
``batch_summary``, which answers "error: No batch is currently open" until one is, and
``batch_total``, which answers "Batch not found" until one is. ``python
ledger.py broken`` serves tools that fail: ``render_chart`` whatever it is given, because a
package is missing; ``sum_column`` whatever it is given (a server-side bug); ``find_entry``
with an error that names the entry asked for (better arguments would do).
"""

from __future__ import annotations

import json
import sys

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

ACCOUNTS = [{"id": "acct-7f3", "owner": "Rosa Diaz"}, {"id": "acct-9b2", "owner": "Ken Ito"}]
BALANCES = {"acct-7f3": 120.5, "acct-9b2": 42.0}
CALLS: list[str] = []  # for in-process checks
BATCHES: list[str] = []


def _obj(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required}


def tools(variant: str) -> list[types.Tool]:
    if variant == "one":
        return [types.Tool(name="get_fortune", description="A fortune for today.", input_schema=_obj({}, []))]
    if variant == "broken":
        return [
            types.Tool(name="render_chart", description="Render a chart of the ledger.", input_schema=_obj(
                {"width": {"type": "integer", "minimum": 100, "maximum": 900}}, ["width"])),
            types.Tool(name="sum_column", description="Sum a column of the ledger.", input_schema=_obj(
                {"column": {"type": "string", "enum": ["debit", "credit", "balance"]}}, ["column"])),
            types.Tool(name="find_entry", description="Find a ledger entry by its number.", input_schema=_obj(
                {"number": {"type": "integer", "minimum": 1, "maximum": 900}}, ["number"])),
        ]
    if variant == "batches":
        return [
            types.Tool(name="open_batch", description="Start a batch of ledger entries.", input_schema=_obj({}, [])),
            types.Tool(name="post_entry", description="Post an entry to an open batch.", input_schema=_obj(
                {"batch_id": {"type": "string"}, "amount": {"type": "number", "minimum": 1, "maximum": 100}},
                ["batch_id", "amount"])),
            types.Tool(name="batch_summary", description="Summarize the current batch.", input_schema=_obj(
                {"currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]}}, ["currency"])),
            types.Tool(name="batch_total", description="The total of the latest batch.", input_schema=_obj({}, [])),
        ]
    return [
        types.Tool(name="list_accounts", description="All accounts of the ledger.", input_schema=_obj({}, [])),
        types.Tool(name="get_balance", description="The balance of one account.",
                   input_schema=_obj({"account_id": {"type": "string", "description": "The account's id"}}, ["account_id"])),
        types.Tool(name="export_report", description="Export an account's report.",
                   input_schema=_obj({"account_id": {"type": "string"}}, ["account_id"])),
        types.Tool(name="describe_code", description="Describe a ledger code.",
                   input_schema=_obj({"ledger_code": {"type": "string"}}, ["ledger_code"])),
        types.Tool(name="delete_account", description="Delete every account.", input_schema=_obj({}, [])),
        types.Tool(name="close_books", description="Close the books.", input_schema=_obj({}, []),
                   annotations=types.ToolAnnotations(destructive_hint=True)),
    ]


def build(variant: str = "full") -> Server:
    async def list_tools(ctx, params):  # noqa: ANN001
        return types.ListToolsResult(tools=tools(variant))

    def text(value: object) -> list[types.TextContent]:
        return [types.TextContent(type="text", text=json.dumps(value))]

    async def call_tool(ctx, params):  # noqa: ANN001
        args = params.arguments or {}
        CALLS.append(params.name)
        if params.name == "open_batch":
            BATCHES.append(f"batch-{len(BATCHES) + 1:03d}")
            return types.CallToolResult(content=text({"batch_id": BATCHES[-1], "status": "open"}),
                                        structured_content={"batch_id": BATCHES[-1], "status": "open"})
        if params.name == "post_entry":
            if args.get("batch_id") not in BATCHES:
                return types.CallToolResult(content=[types.TextContent(type="text", text="no such batch")], is_error=True)
            return types.CallToolResult(content=text({"posted": args.get("amount"), "batch_id": args["batch_id"]}))
        if params.name == "batch_summary":
            if not BATCHES:
                return types.CallToolResult(content=[types.TextContent(type="text", text="error: No batch is currently open")])
            return types.CallToolResult(content=text({"batch_id": BATCHES[-1], "entries": 0}))
        if params.name == "batch_total":
            if not BATCHES:
                return types.CallToolResult(content=[types.TextContent(type="text", text="Batch not found")],
                                            is_error=True)
            return types.CallToolResult(content=text({"batch_id": BATCHES[-1], "total": 0}))
        if params.name == "render_chart":
            return types.CallToolResult(content=[types.TextContent(
                type="text", text="Error: reportlab is required for charts. Install with: pip install reportlab")],
                is_error=True)
        if params.name == "sum_column":
            return types.CallToolResult(content=[types.TextContent(
                type="text", text=f"Error: 'NoneType' object has no attribute 'sum' (request {len(CALLS)})")])
        if params.name == "find_entry":
            return types.CallToolResult(content=[types.TextContent(
                type="text", text=f"Error: no entry '{args.get('number')}' in the ledger")], is_error=True)
        if params.name == "get_fortune":
            return types.CallToolResult(content=[types.TextContent(type="text", text="Fortune favours the bold.")])
        if params.name == "list_accounts":
            return types.CallToolResult(content=text({"accounts": ACCOUNTS}), structured_content={"accounts": ACCOUNTS})
        if params.name == "get_balance":
            acct = args.get("account_id")
            if acct not in BALANCES:
                return types.CallToolResult(content=[types.TextContent(type="text", text=f"no account {acct!r}")],
                                            is_error=True)
            result = {"account_id": acct, "balance": BALANCES[acct]}
            return types.CallToolResult(content=text(result), structured_content=result)
        if params.name == "export_report":
            result = {"result": "Error: No data provided to write"}
            return types.CallToolResult(content=text(result), structured_content=result)
        if params.name in ("delete_account", "close_books"):
            raise RuntimeError(f"{params.name} must never be called by a survey")
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"code {args.get('ledger_code')}")])

    async def list_resources(ctx, params):  # noqa: ANN001
        return types.ListResourcesResult(resources=[
            types.Resource(uri="ledger://guide", name="guide", mime_type="text/plain")])

    async def read_resource(ctx, params):  # noqa: ANN001
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=str(params.uri), mime_type="text/plain", text="Fiscal year starts 2024-04-01.\nauditor: Lena Park\n")])

    async def list_prompts(ctx, params):  # noqa: ANN001
        return types.ListPromptsResult(prompts=[types.Prompt(
            name="summarize_account", description="Summarize one account.",
            arguments=[types.PromptArgument(name="account_id", required=True)])])

    extra = {} if variant in ("one", "batches", "broken") else {"on_list_resources": list_resources, "on_read_resource": read_resource,
                                         "on_list_prompts": list_prompts}
    return Server("ledger", version="0.1.0", on_list_tools=list_tools, on_call_tool=call_tool, **extra)


async def main() -> None:
    server = build(sys.argv[1] if len(sys.argv) > 1 else "full")
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
