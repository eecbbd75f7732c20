"""``lstmkit export onnx CHECKPOINT OUT.onnx``: an app checkpoint's network as an ONNX file.

On the apps floor (docs/architecture.md), beside ``checkpoints.py``; only the handler imports
torch and onnx.
"""

from __future__ import annotations

import argparse

from lstmkit.cliutil import Parser


def add_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export", help="export a trained model to another runtime (ONNX)",
        description="Export the network of an app checkpoint (forecast, sentiment, textgen) to another runtime.")
    formats = export.add_subparsers(dest="export_format", metavar="FORMAT", required=True, parser_class=Parser)
    onnx = formats.add_parser(
        "onnx", help="an ONNX file for ONNX Runtime (needs pip install 'lstmkit[onnx]')",
        description="Write the checkpoint's network as an ONNX file, checked against lstmkit with ONNX Runtime. "
                    "Batch and sequence length are dynamic where the graph allows it.")
    onnx.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint folder written by an app's train")
    onnx.add_argument("out", metavar="OUT.onnx", help="the ONNX file to write (replaced atomically)")
    onnx.add_argument("--static", action="store_true", help="fixed input shapes (the example's), no dynamic axes")
    onnx.set_defaults(handler=run_onnx, out_is_file=True)


def run_onnx(args: argparse.Namespace) -> int:
    from lstmkit.export.checkpoints import export_checkpoint

    path = export_checkpoint(args.checkpoint, args.out, dynamic=not args.static)
    print(f"wrote {path}")
    return 0
