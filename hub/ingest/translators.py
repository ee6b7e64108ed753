"""Translating processes: pieces parsed, mapped and validated in other processes while the intake
stores the pieces before them (``Intake.run_files`` with ``translators``).

Translation is a pure function of the piece's bytes and the institution's mapping (the adapters
touch no database), so its result is the same in any process: the intake takes it in place of
translating the piece itself, and everything after it -- the ledger, the EMPI, the store, the
quarantine -- runs as before, in order, in the intake's process. A bulk load then keeps both cores
busy: about half of a FHIR Bundle's CPU is parsing and validating it. The processes also make the
records of a piece ready to store -- linked, stamped, written as JSON, their index rows extracted --
with placeholders for what only the intake's transaction knows (``hub.ingest.premade``).

The processes come from a fork server (``forkserver``), not from a fork of the intake's own process,
which may hold threads (the audit chainer) and their locks; the fork server imports the adapters
and the FHIR models once, and each process is forked from it.
"""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor

from adapters.mapping import Mapping
from adapters.pipeline import Piece, Translation, translate

from . import premade

_MAPPING: Mapping | None = None  # in a translating process: the institution's mapping


def _start(mapping: Mapping) -> None:
    global _MAPPING
    _MAPPING = mapping
    gc.collect()
    gc.freeze()  # the imported models live as long as the process (as in ``freeze_startup_heap``)


def _translate_all(fmt: str, pieces: list[tuple[bytes, str]]) -> list[Translation]:
    """Each piece translated, and its records made ready to store where they can be
    (``hub.ingest.premade``)."""
    from .service import adapter_for

    adapter = adapter_for(fmt)
    out = []
    for raw, source in pieces:
        piece = Piece(raw, source)
        unit, rejected = translate(adapter, piece, _MAPPING)
        if rejected is None:
            try:
                unit.premade = premade.make(unit)
            except premade.Spoiled:  # its records half changed: as translated, nothing made
                unit, rejected = translate(adapter, piece, _MAPPING)
            else:
                unit = premade.travelling(unit)
        out.append((unit, rejected))
    return out


class Translators:
    """``processes`` translating processes for one institution's mapping."""

    def __init__(self, mapping: Mapping, processes: int):
        if processes < 1:
            raise ValueError("translators need at least one process")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["hub.ingest.service"])
        self.processes = processes
        self._pool = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start, initargs=(mapping,)
        )

    def submit(self, fmt: str, pieces: list[Piece]) -> Future:
        """A future of the pieces' translations, in order."""
        return self._pool.submit(_translate_all, fmt, [(p.raw, p.source) for p in pieces])

    def warm(self, fmt: str, pieces: list[Piece]) -> None:
        """Start the processes and translate ``pieces`` in them (the FHIR models each needs are
        imported on first use), waiting for it: what a long intake's steady state is measured from."""
        for f in [self.submit(fmt, pieces) for _ in range(self.processes)]:
            f.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Translators:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
