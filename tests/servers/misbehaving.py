"""Servers that fail in the ways discovery must survive. Usage: misbehaving.py MODE

exit    writes a reason (and $TOY_SECRET if set) to stderr and exits with status 3
hang    reads nothing and never answers (the handshake times out)
garbage writes lines that are not JSON-RPC, then exits
"""

from __future__ import annotations

import os
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "exit"
if mode == "exit":
    print(f"fatal: cannot open the database (token {os.environ.get('TOY_SECRET', '-')})", file=sys.stderr, flush=True)
    sys.exit(3)
elif mode == "hang":
    time.sleep(600)
elif mode == "garbage":
    print("hello, I am not an MCP server", flush=True)
    print("{not json either", flush=True)
    sys.stdin.readline()
    sys.exit(0)
