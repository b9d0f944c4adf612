"""Background runs: a queue of scenario sets, each run by `carepath experiment` in a process of
its own, one after another.

Why the command and not a function call: the app then runs exactly what a user runs by hand
(the same file and seed give byte-identical results, and every file the experiment writes, the
committee papers included, lands in the run's folder); a failed or cancelled run cannot leave
the web app in a broken state. The command runs the one replications API (experiments/run.py,
sim/replications.py) and prints its progress bar (replications done, time left), which is read
here as it goes.

Every run's output folder shares one replications cache (`DATA/cache`, linked as its
`.cache`): the cache key holds the parameters, snapshot, model code, seed, levers and
replication, so the baseline's replications are run once and every later what-if on the same
baseline and seed only runs its own scenarios.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from .db import Store

_BAR = re.compile(r"\]\s*(\d+)/(\d+)\s+(.*?),\s*(\d+)s elapsed, about\s*(\d+)s left")
RUN_SET = "scenario_set.yaml"   # what a run ran, in its folder
RESULTS = "results"              # the experiment's output folder inside the run's


def parse_progress(line: str) -> Optional[tuple[int, int, str, float]]:
    """(done, total, stage, seconds left) from one line of the replications progress bar."""
    m = _BAR.search(line)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), m.group(3).strip(), float(m.group(5))


def failure(lines: list[str], rc: int) -> str:
    """Why a run failed, in one line: the command's own one-line message for bad input, or the
    last line of an error it did not expect (the whole of it is in the run's log.txt)."""
    if any(ln.startswith("Traceback") for ln in lines):
        return f"the experiment stopped with an error it did not expect ({lines[-1]}); the run's log.txt has the details"
    said = [ln for ln in lines if ln.startswith("carepath:") and "model core" not in ln and "compiled core" not in ln]
    if said:
        return said[-1].removeprefix("carepath:").strip()
    return lines[-1] if lines else f"the experiment stopped (exit status {rc})"


def run_folder(data: Path, rid: int) -> Path:
    return Path(data) / "runs" / f"run-{rid:05d}"


def experiment_supports(option: str) -> bool:
    """Whether this carepath's `experiment` command takes `option` (e.g. --draws)."""
    import argparse

    from ..commands import experiment

    sub = argparse.ArgumentParser().add_subparsers()
    experiment.add_parsers(sub)
    return option in sub.choices["experiment"]._option_string_actions


class RunQueue:
    """Runs queued runs one at a time in a background thread."""

    def __init__(self, store: Store, data: Path, workers: Optional[int] = None):
        self.store, self.data, self.workers = store, Path(data), workers
        self.wake = threading.Event()
        self.stopping = False
        self.current: Optional[subprocess.Popen] = None
        self.current_id: Optional[int] = None
        self.cancelled: set[int] = set()
        self.thread = threading.Thread(target=self._loop, name="carepath-runs", daemon=True)

    def start(self) -> None:
        self.store.mark_interrupted()
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        proc = self.current
        if proc is not None and proc.poll() is None:
            proc.terminate()
        self.wake.set()
        self.thread.join(timeout=10)

    def submit(self) -> None:
        self.wake.set()

    def cancel(self, rid: int) -> None:
        run = self.store.run(rid)
        if run is None:
            return
        if run["status"] == "queued":
            self.store.update_run(rid, status="cancelled", message="cancelled before it started")
        elif run["status"] == "running":
            self.cancelled.add(rid)
            proc = self.current
            if self.current_id == rid and proc is not None and proc.poll() is None:
                proc.terminate()

    def _loop(self) -> None:
        while not self.stopping:
            run = self.store.next_queued()
            if run is None:
                self.wake.wait(timeout=2)
                self.wake.clear()
                continue
            try:
                self._run(run)
            except Exception as exc:  # noqa: BLE001 - the queue carries on; the run says what went wrong
                self.store.update_run(run["id"], status="failed", message=f"the run could not start: {exc}")

    def _run(self, run: dict) -> None:
        rid = run["id"]
        folder = run_folder(self.data, rid)
        out = folder / RESULTS
        out.mkdir(parents=True, exist_ok=True)
        shared = self.data / "cache"
        shared.mkdir(parents=True, exist_ok=True)
        link = out / ".cache"
        if not link.exists():
            try:
                link.symlink_to(shared.resolve(), target_is_directory=True)
            except OSError:  # no symbolic links here: the run keeps its own cache
                pass
        spec_file = folder / RUN_SET
        spec_file.write_text(run["scenario_set"], encoding="utf-8")
        cmd = [sys.executable, "-m", "carepath", "experiment", str(spec_file), "--out", str(out)]
        if self.workers:
            cmd += ["--workers", str(self.workers)]
        self.store.update_run(rid, status="running", folder=str(folder), stage="starting the model", done=0, total=0,
                              seconds_left=None, message="")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        log = folder / "log.txt"
        t0 = time.perf_counter()
        with open(log, "w", encoding="utf-8") as logf:
            proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                                    cwd=str(folder))
            self.current, self.current_id = proc, rid
            lines = self._follow(proc, rid, logf)
            rc = proc.wait()
        self.current, self.current_id = None, None
        wall = time.perf_counter() - t0
        if rid in self.cancelled:
            self.cancelled.discard(rid)
            self.store.update_run(rid, status="cancelled", message="cancelled while running (finished replications are kept)",
                                  seconds_left=None)
        elif rc == 0 and (out / "manifest.json").exists():
            self.store.update_run(rid, status="finished", seconds_left=0, stage="finished",
                                  message=f"finished in {wall:.0f} seconds")
        else:
            why = failure(lines, rc)
            self.store.update_run(rid, status="failed", seconds_left=None, message=why)

    def _follow(self, proc: subprocess.Popen, rid: int, logf) -> list[str]:
        """Read the command's standard error as it comes: progress bar updates (split on carriage
        returns) go to the run's row; other lines to its log."""
        lines: list[str] = []
        buf = b""
        last = 0.0
        while True:
            chunk = proc.stderr.read1(4096) if hasattr(proc.stderr, "read1") else proc.stderr.read(4096)
            if not chunk:
                break
            buf += chunk
            parts = re.split(rb"[\r\n]", buf)
            buf = parts.pop()
            for raw in parts:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                got = parse_progress(line)
                if got is None:
                    lines.append(line)
                    logf.write(line + "\n")
                    continue
                now = time.monotonic()
                done, total, stage, left = got
                if now - last > 0.25 or done == total:
                    self.store.update_run(rid, done=done, total=total, stage=stage, seconds_left=left)
                    last = now
            got = parse_progress(buf.decode("utf-8", "replace"))
            if got is not None:
                done, total, stage, left = got
                self.store.update_run(rid, done=done, total=total, stage=stage, seconds_left=left)
        tail = buf.decode("utf-8", "replace").strip()
        if tail and parse_progress(tail) is None:
            lines.append(tail)
            logf.write(tail + "\n")
        return lines


def remove_run_folder(data: Path, rid: int) -> None:
    folder = run_folder(data, rid)
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
