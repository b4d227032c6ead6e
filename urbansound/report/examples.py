"""The example clips: one labelled training clip per class, picked, decoded and drawn
(waveform, magnitude spectrum, MFCC frames)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from urbansound import features
from urbansound.audio import decode
from urbansound.exceptions import DecodeError
from urbansound.report.inputs import DPI, FigureResult, Missing
from urbansound.settings import CLASSES, FeatureSettings

EXAMPLE_TRIES = 3  # clips tried per class before the class is left out of the examples
SPECTRUM_FLOOR_DB = -120.0  # as the fft_band_* levels


@dataclass(frozen=True)
class Example:
    """One decoded clip to show: its class, id and signal.

    Attributes
    ----------
    label, clip_id : str
    y : np.ndarray, shape (n,), float32
        Mono signal at the feature settings' rate, full-scale amplitude.
    """

    label: str
    clip_id: str
    y: np.ndarray


# ---------------------------------------------------------------------------- inputs
def pick_examples(table: pd.DataFrame, tries: int = EXAMPLE_TRIES) -> dict[str, list[str]]:
    """Candidate clips per class for the examples figure, deterministically.

    Parameters
    ----------
    table : pd.DataFrame
        The feature table (``clip_id``, ``split``, ``label``).
    tries : int
        Candidates per class: the first by ``clip_id``, then the next ones, used when an
        earlier one's audio is gone.

    Returns
    -------
    dict of str to list of str
        Class -> up to ``tries`` clip ids of labelled training clips; classes in
        :data:`CLASSES` order, then any others alphabetically.
    """
    train = table[(table["split"] == "train") & table["label"].notna()]
    ordered = train.sort_values("clip_id", kind="stable")
    found = set(ordered["label"].astype(str))
    labels = [c for c in CLASSES if c in found] + sorted(found - set(CLASSES))
    return {lab: ordered.loc[ordered["label"] == lab, "clip_id"].astype(str).head(tries).tolist() for lab in labels}


def load_examples(table: pd.DataFrame, settings: FeatureSettings) -> tuple[list[Example], list[str]]:
    """Decode one clip per class (see :func:`pick_examples`).

    Parameters
    ----------
    table : pd.DataFrame
        The feature table (``clip_id``, ``path``, ``split``, ``label``).
    settings : FeatureSettings
        The table's settings: the clip is decoded at ``sample_rate``.

    Returns
    -------
    examples : list of Example
        At most one per class, in :func:`pick_examples` order.
    notes : list of str
        One line per clip skipped (its file gone or unreadable) and per class left out.
    """
    paths = dict(zip(table["clip_id"].astype(str), table["path"].astype(str)))
    examples: list[Example] = []
    notes: list[str] = []
    for label, clip_ids in pick_examples(table).items():
        for clip_id in clip_ids:
            try:
                y = decode(paths[clip_id], sr=settings.sample_rate)
            except DecodeError as e:
                notes.append(f"{label}: clip {clip_id} skipped ({e})")
                continue
            examples.append(Example(label, clip_id, y))
            break
        else:
            notes.append(f"{label}: left out, none of its first {len(clip_ids)} clip(s) could be decoded")
    return examples, notes


def examples_figure(examples: list[Example], settings: FeatureSettings) -> FigureResult:
    """One row per class: waveform, magnitude spectrum, MFCC frames.

    Parameters
    ----------
    examples : list of Example
        Signals at ``settings.sample_rate``.
    settings : FeatureSettings
        STFT and MFCC settings, as the feature table's.

    Returns
    -------
    Figure or Missing
        Columns: waveform (s vs full-scale amplitude, drawn as its min-max envelope per
        pixel column); mean magnitude spectrum over STFT frames (log-frequency Hz vs dB re
        full scale, floor -120 dB); MFCC frames (frame vs coefficient, colour in
        dB-scaled cepstral units, scale per row fitted to coefficients 1 and up).
    """
    if not examples:
        return Missing("no audio: no labelled training clip could be decoded")
    sr = settings.sample_rate
    n = len(examples)
    row_in, top_in, bottom_in = 1.45, 0.45, 0.6
    height = top_in + bottom_in + row_in * n
    # fixed margins: constrained layout over 30 axes with log-scale ticks costs seconds
    fig = Figure(figsize=(13.0, height), dpi=DPI)
    grid = fig.add_gridspec(n, 3, width_ratios=[1.1, 1.0, 1.2], left=0.135, right=0.945,
                            top=1 - top_in / height, bottom=bottom_in / height, hspace=0.45, wspace=0.22)
    axes = np.array([[fig.add_subplot(grid[i, j]) for j in range(3)] for i in range(n)])
    for row, ex in zip(axes, examples):
        y, _ = features.prepare(ex.y, settings)
        _waveform(row[0], y, sr)
        row[0].set_ylabel(f"{ex.label}\n{ex.clip_id}", fontsize=9, rotation=0, ha="right", va="center",
                          labelpad=8)

        S = features.spectrogram(y, settings)
        spectrum = S.mean(axis=1).astype(np.float64) * (4.0 / settings.n_fft)  # full-scale units
        freqs = np.arange(len(spectrum)) * (sr / settings.n_fft)
        db = 20 * np.log10(np.maximum(spectrum, 10 ** (SPECTRUM_FLOOR_DB / 20)))
        row[1].semilogx(freqs[1:], db[1:], linewidth=0.8, color="#8b2252")
        row[1].set_xlim(features.band_edges(sr=sr, n_bands=1)[0], sr / 2)  # as the fft_band_* levels
        row[1].set_ylim(max(SPECTRUM_FLOOR_DB, float(db[1:].max()) - 90), float(db[1:].max()) + 5)
        row[1].grid(True, which="major", alpha=0.3)
        row[1].minorticks_off()  # dozens of minor ticks per axis: slow to lay out, no help to read
        row[1].set_ylabel("dB", fontsize=8, labelpad=1)

        M = features.mfcc_frames(S, sr=sr, settings=settings)
        # coefficient 0 (log energy) is an order of magnitude larger than the others:
        # scaled to the rest, it saturates instead of flattening every other row
        rest = M[1:] if M.shape[0] > 1 else M
        low, high = np.percentile(rest, [1, 99])
        image = row[2].imshow(M, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
                              extent=(0, M.shape[1], 0, M.shape[0]), vmin=low, vmax=max(high, low + 1e-6))
        row[2].set_ylabel("coef.", fontsize=8, labelpad=1)
        fig.colorbar(image, cax=row[2].inset_axes((1.015, 0.0, 0.025, 1.0))).ax.tick_params(labelsize=7)
        for ax in row:
            ax.tick_params(labelsize=8)
        # fewer, rounder ticks: easier to read, and tick text is most of the drawing time
        for axis in (row[0].xaxis, row[0].yaxis, row[1].yaxis, row[2].xaxis, row[2].yaxis):
            axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
    for ax, title in zip(axes[0], ("waveform (full-scale amplitude)", "mean magnitude spectrum (dB re full scale)",
                                   "MFCC (coefficient x frame)")):
        ax.set_title(title, fontsize=10)
    bottom = axes[-1]
    bottom[0].set_xlabel("time (s)")
    bottom[1].set_xlabel("frequency (Hz, log scale)")
    bottom[2].set_xlabel(f"frame (hop {settings.hop_length} samples)")
    return fig


def _waveform(ax: Any, y: np.ndarray, sr: int, columns: int = 1200) -> None:
    """Draw a signal as its min-max envelope per column: what a line through every sample
    would show, at a fraction of the cost."""
    per = max(1, len(y) // columns)
    usable = len(y) // per * per
    blocks = y[:usable].reshape(-1, per)
    t = (np.arange(len(blocks)) + 0.5) * per / sr
    ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), color="#1f4e79", linewidth=0.4,
                    edgecolor="#1f4e79")
    ax.set_xlim(0, len(y) / sr)
    peak = float(np.max(np.abs(y))) or 1.0
    ax.set_ylim(-1.1 * peak, 1.1 * peak)
