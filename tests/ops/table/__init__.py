"""The op table, one file of rows per op family (mirroring gpugrad/ops); tests/ops/op_table.py joins them."""
