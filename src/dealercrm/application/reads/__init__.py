"""Typed read rows: what the read-query Protocols answer, one frozen attrs class per shape."""
