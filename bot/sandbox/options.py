"""The sandbox command's options (argparse only, so building the command line stays light)."""

from __future__ import annotations

import argparse


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--command`, `--json`, `--admin` and `--platform` to the sandbox command's parser."""
    parser.add_argument(
        "--command", dest="command_line", metavar="'/CMD opt:value'", help="run one command, print the reply and exit"
    )
    parser.add_argument("--json", action="store_true", help="with --command: print the raw payload the bot sent")
    parser.add_argument(
        "--admin",
        action="store_true",
        help="give the sandbox's user Manage Server in the sandbox server, so /highlights can be tried "
        "(at the prompt: admin on / admin off)",
    )
    parser.add_argument(
        "--platform",
        choices=("discord", "slack"),
        default="discord",
        help="whose stand-in to talk to: Discord's (the default) or Slack's, with Block Kit replies",
    )
