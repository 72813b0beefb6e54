"""``valiqor traces prune --older-than 30d``: delete what the stores hold past an age, now (the server and the
embedded stores do it on their own with ``retention_days``; see docs/deploy.md#retention)."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from valiqor_trace.analyzer.cli._client import add_data_dir_argument, cli_client
from valiqor_trace.internal import add_store_argument, describe_store, is_database_url, parse_age_ns


def register_prune(traces: argparse._SubParsersAction) -> None:
    prune = traces.add_parser(
        "prune", help="delete traces and runs older than an age (--older-than 30d)",
        description="Delete the traces last active before the cutoff (spans, log records and summary together), "
                    "and from the run store the finished runs (inputs, tags), alerts, judge-cache entries and "
                    "rate-limit events created before it, in small batches that never hold writers up for long.")
    prune.add_argument("--older-than", required=True, type=_age, metavar="AGE",
                       help="what is older than AGE goes: a number and d (days), h (hours) or m (minutes), e.g. 30d")
    prune.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    prune.add_argument("--traces-only", action="store_true", help="leave the run store alone")
    prune.add_argument("--vacuum", action="store_true",
                       help="then rewrite the SQLite files to their smallest size (needed once for stores made "
                            "before incremental auto-vacuum; blocks writers meanwhile); PostgreSQL: VACUUM ANALYZE")
    add_store_argument(prune)
    add_data_dir_argument(prune)
    prune.add_argument("--database-url", metavar="URL",
                       help="both stores in PostgreSQL (postgresql://...; default $VALIQOR_DATABASE_URL)")
    prune.add_argument("--json", action="store_true", help="print the counts as JSON")
    prune.set_defaults(func=prune_stores)


def _age(text: str) -> int:
    try:
        return parse_age_ns(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def prune_stores(args: argparse.Namespace) -> int:
    from valiqor_trace.analyzer.runs import RunStore
    from valiqor_trace.store import SpanStore

    config = _config(args)
    cutoff_ns = time.time_ns() - args.older_than
    targets: list[tuple[str, str, Any]] = [("trace store", config.trace_store_file, SpanStore)]
    if not args.traces_only:
        targets.append(("run store", config.run_store_file, RunStore))
    report: dict[str, Any] = {"cutoff_ns": cutoff_ns, "dry_run": args.dry_run, "stores": []}
    for label, target, opener in targets:
        where = describe_store(target)
        if not is_database_url(target) and not os.path.exists(target):
            report["stores"].append({"store": label, "path": where, "missing": True})
            if not args.json:
                print(f"{label} {where}: none there, nothing to prune")
            continue
        store = opener(target)
        try:
            pruned = store.prune(cutoff_ns, dry_run=args.dry_run)
            size = _vacuum(store, target) if args.vacuum and not args.dry_run else None
        finally:
            store.close()
        report["stores"].append({"store": label, "path": where, "rows": pruned.rows, "file_bytes": size})
        if not args.json:
            verb = "would delete" if args.dry_run else "deleted"
            print(f"{label} {where}: {verb} {pruned}")
            if size is not None:
                print(f"{label} {where}: vacuumed, {size[0] / 1e6:.1f} MB -> {size[1] / 1e6:.1f} MB")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _config(args: argparse.Namespace) -> Any:
    """The stores the flags name (else the environment's, as for ``ValiqorClient()``); always the local ones.
    A ``--store`` that is a database holds the run store too (one database keeps both)."""
    database_url = args.database_url or (args.store if is_database_url(args.store) else None)
    client = cli_client(args, database_url=database_url)
    try:
        return client.config
    finally:
        client.close()


def _vacuum(store: Any, target: str) -> tuple[int, int] | None:
    """Vacuum ``store``; for a SQLite file, its size (bytes) before and after."""
    if is_database_url(target):
        store.vacuum()
        return None
    before = os.path.getsize(target)
    store.vacuum()
    return before, os.path.getsize(target)
