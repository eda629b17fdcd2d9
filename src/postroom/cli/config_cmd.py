"""`postroom config load FILE` and `postroom config dump`: the YAML configuration in and out."""

from __future__ import annotations

import argparse
import sys


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="load or print the YAML configuration")
    csub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    lp = csub.add_parser("load", help="make the stored configuration match FILE (idempotent)")
    lp.add_argument("file", metavar="FILE")
    lp.set_defaults(handler=run_load)
    dp = csub.add_parser("dump", help="print the stored configuration, passwords masked")
    dp.set_defaults(handler=run_dump)


def run_load(args: argparse.Namespace) -> int:
    from postroom.mailboxes.config_file import load_config_file
    from postroom.mailboxes.sync import apply_config

    changes = apply_config(load_config_file(args.file))
    for line in changes:
        print(line)
    print("configuration loaded" + ("" if changes else ": nothing changed"), file=sys.stderr)
    return 0


def run_dump(args: argparse.Namespace) -> int:
    from postroom.mailboxes.config_file import dump_config
    from postroom.mailboxes.sync import current_config

    sys.stdout.write(dump_config(current_config()))
    return 0
