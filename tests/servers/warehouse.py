"""A small MCP server no adapter knows, for the generic facts and wording tests (stdio).

``python warehouse.py`` serves a warehouse: ``list_warehouses`` (no arguments) answers JSON
text, ``get_stock`` answers structured content described by an ``outputSchema`` with titles,
``shelf_report`` answers a markdown table and ``key: value`` lines, and ``get_server_time``
answers the wall clock (never a fact).
"""

from __future__ import annotations

import datetime
import json

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

WAREHOUSES = [{"warehouse": "North Depot", "city": "Tromsø", "capacity": 1200},
              {"warehouse": "Harbor Store", "city": "Bergen", "capacity": 800},
              {"warehouse": "Valley Hub", "city": "Lillehammer", "capacity": 450}]
STOCK = {
    "North Depot": [{"sku": "TENT-2P", "quantity": 14, "unit_price": 189.0},
                    {"sku": "STOVE-X", "quantity": 3, "unit_price": 74.5},
                    {"sku": "LAMP-9", "quantity": 40, "unit_price": 19.9}],
    "Harbor Store": [{"sku": "KAYAK-S", "quantity": 2, "unit_price": 910.0},
                     {"sku": "PADDLE-A", "quantity": 11, "unit_price": 55.0},
                     {"sku": "VEST-M", "quantity": 25, "unit_price": 64.0}],
    "Valley Hub": [{"sku": "SKI-170", "quantity": 6, "unit_price": 420.0},
                   {"sku": "POLE-12", "quantity": 18, "unit_price": 39.0},
                   {"sku": "WAX-B", "quantity": 70, "unit_price": 9.5}],
}
NAME = {"type": "string", "description": "The warehouse's name"}
STOCK_SCHEMA = {
    "type": "object",
    "properties": {
        "warehouse": {"type": "string", "title": "Warehouse"},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "sku": {"type": "string", "title": "Stock-keeping unit"},
            "quantity": {"type": "integer", "title": "Units on hand"},
            "unit_price": {"type": "number", "title": "Unit price"}}}},
    },
}


def tools() -> list[types.Tool]:
    ro = types.ToolAnnotations(read_only_hint=True)
    return [
        types.Tool(name="list_warehouses", description="List the warehouses of the company.",
                   input_schema={"type": "object", "properties": {}}, annotations=ro),
        types.Tool(name="get_stock", description="Get the stock held in a warehouse.",
                   input_schema={"type": "object", "properties": {"warehouse": NAME}, "required": ["warehouse"]},
                   output_schema=STOCK_SCHEMA, annotations=ro),
        types.Tool(name="shelf_report", description="Show the shelf report of a warehouse.",
                   input_schema={"type": "object", "properties": {"warehouse": NAME}, "required": ["warehouse"]},
                   annotations=ro),
        types.Tool(name="get_server_time", description="Get the server's current time.",
                   input_schema={"type": "object", "properties": {}}, annotations=ro),
    ]


def build() -> Server:
    async def list_tools(ctx, params):  # noqa: ANN001
        return types.ListToolsResult(tools=tools())

    async def call_tool(ctx, params):  # noqa: ANN001
        args = params.arguments or {}
        if params.name == "list_warehouses":
            return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(WAREHOUSES))])
        if params.name == "get_server_time":
            now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps({"now": now}))],
                                        structured_content={"server_time": now})
        name = args.get("warehouse")
        if name not in STOCK:
            return types.CallToolResult(content=[types.TextContent(type="text", text=f"Error: no warehouse {name!r}")],
                                        is_error=True)
        if params.name == "get_stock":
            data = {"warehouse": name, "items": STOCK[name]}
            return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(data))],
                                        structured_content=data)
        rows = "\n".join(f"| {i['sku']} | {i['quantity']} |" for i in STOCK[name])
        text = f"# Shelves of {name}\n\nManager: Ola Nordmann. Opened in 1998.\n\n| Item | Shelves |\n|---|---|\n{rows}\n"
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    return Server("warehouse", version="0.1.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    server = build()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
