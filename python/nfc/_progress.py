"""The progress bar of Model.train: tqdm's (tqdm.auto: a widget in Jupyter,
text in a terminal) when tqdm is installed, otherwise a plain one that
redraws one line with a carriage return where that works (a terminal,
Jupyter) and prints a line per evaluation where it does not (a log file)."""

from __future__ import annotations

import math
import sys
import time


def _describe(record) -> str:
    if "elbo" in record:  # variational fitting
        return (f"elbo {record['elbo']:.4f} log Z {record['log_z']:.4f} "
                f"ess {record['ess']:.3f}")
    text = f"loss {record['loss']:.4f}"
    if not math.isnan(record["val_nll"]):
        text += f" val {record['val_nll']:.4f}"
    return text


class ProgressBar:
    def __init__(self, total: int, stream=None):
        self.total = total
        self.stream = stream or sys.stderr
        self.step = 0
        self.tqdm = None
        try:
            from tqdm.auto import tqdm
            self.tqdm = tqdm(total=total, unit="step", leave=True)
        except ImportError:
            pass
        in_jupyter = "ipykernel" in sys.modules
        self.redraw = in_jupyter or getattr(self.stream, "isatty", lambda: False)()
        self.start = time.monotonic()
        self.last_text = ""

    def update(self, record):
        step = record["step"]
        if self.tqdm is not None:
            self.tqdm.update(step - self.step)
            self.tqdm.set_postfix_str(_describe(record), refresh=False)
        else:
            self._plain(record)
        self.step = step

    def _plain(self, record):
        step, total = record["step"], record["total"]
        if self.redraw:
            width = 30
            done = int(width * step / max(total, 1))
            rate = step / max(time.monotonic() - self.start, 1e-9)
            text = (f"\r[{'#' * done}{'.' * (width - done)}] {step}/{total} "
                    f"{_describe(record)} ({rate:.0f} steps/s)")
            self.stream.write(text.ljust(len(self.last_text)))
            self.last_text = text
            self.stream.flush()
        elif record["evaluation"]:
            self.stream.write(f"step {step}/{total}: {_describe(record)}\n")
            self.stream.flush()

    def close(self):
        if self.tqdm is not None:
            self.tqdm.close()
        elif self.redraw and self.last_text:
            self.stream.write("\n")
            self.stream.flush()
