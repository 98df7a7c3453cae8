"""Score tables and the plots trackers are compared with in papers (matplotlib, Agg backend).

OPE: success plot (overlap threshold vs success rate, legend ``[AUC] name``) and precision plot
(location error threshold vs precision, legend ``[P@20] name``), normalized precision when asked;
GOT-10k: success plot with AO in the legend; VOT: expected-overlap curves with the EAO interval
shaded; long-term: tracking precision/recall curves with the F-score maximum marked.
"""
from __future__ import annotations

import os

import numpy as np

COLUMNS = {
    "ope": [("success", "Success (AUC)"), ("precision", "Precision@20"), ("norm_precision", "Norm. precision")],
    "got10k": [("ao", "AO"), ("sr50", "SR0.50"), ("sr75", "SR0.75"), ("fps", "FPS")],
    "vot": [("eao", "EAO"), ("accuracy", "Accuracy"), ("robustness", "Robustness"), ("lost_number", "Lost")],
    "vot-lt": [("f_score", "F-score"), ("precision", "Precision"), ("recall", "Recall")],
}
SORT_KEY = {"ope": "success", "got10k": "ao", "vot": "eao", "vot-lt": "f_score"}
STYLES = ["-", "--", "-.", ":"]


def sorted_scores(scores: list[dict]) -> list[dict]:
    """Trackers best first by the protocol's main metric."""
    if not scores:
        return []
    key = SORT_KEY[scores[0]["protocol"]]
    return sorted(scores, key=lambda s: -np.nan_to_num(s.get(key, np.nan), nan=-np.inf))


def format_table(scores: list[dict]) -> str:
    """A fixed-width table, one row per tracker, best first."""
    if not scores:
        return "(no trackers)"
    columns = [c for c in COLUMNS[scores[0]["protocol"]] if any(c[0] in s for s in scores)]
    width = max(12, *(len(s["tracker"]) for s in scores)) + 2
    header = f"{'Tracker':<{width}}" + "".join(f"{title:>16}" for _, title in columns)
    lines = [header, "-" * len(header)]
    for s in sorted_scores(scores):
        cells = "".join(f"{s[key]:>16.3f}" if key in s else f"{'-':>16}" for key, _ in columns)
        lines.append(f"{s['tracker']:<{width}}{cells}")
    return "\n".join(lines)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _curve_plot(path, title, xlabel, ylabel, x, entries, legend_loc, xlim):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=150)
    ax.set_xticks(np.linspace(xlim[0], xlim[1], 11))
    ax.set_yticks(np.linspace(0, 1, 11))
    colors = plt.get_cmap("tab10").colors
    for k, (label, y) in enumerate(entries):
        ax.plot(x, y, STYLES[(k // len(colors)) % len(STYLES)], color=colors[k % len(colors)], lw=2, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=(0, 1.0))
    return _save(plt, fig, ax, path, legend_loc)


def _save(plt, fig, ax, path: str, legend_loc: str) -> str:
    """Grid, legend, tight layout; write the PNG (creating its folder) and free the figure."""
    ax.grid(True, ls="--", alpha=0.5)
    ax.legend(loc=legend_loc, fontsize=8, frameon=True)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_ope(scores: list[dict], out_dir: str, dataset: str, norm: bool = False) -> list[str]:
    """Success and precision plots (and normalized precision when ``norm``); returns the PNG paths."""
    ranked = sorted_scores(scores)
    paths = [
        _curve_plot(os.path.join(out_dir, "success_plot.png"), f"Success plots of OPE on {dataset}",
                    "Overlap threshold", "Success rate", np.linspace(0, 1, len(ranked[0]["success_curve"])),
                    [(f"[{s['success']:.3f}] {s['tracker']}", s["success_curve"]) for s in ranked],
                    "lower left", (0, 1)),
    ]
    by_p = sorted(ranked, key=lambda s: -s["precision"])
    paths.append(_curve_plot(os.path.join(out_dir, "precision_plot.png"), f"Precision plots of OPE on {dataset}",
                             "Location error threshold (pixels)", "Precision", np.arange(51),
                             [(f"[{s['precision']:.3f}] {s['tracker']}", s["precision_curve"]) for s in by_p],
                             "lower right", (0, 50)))
    if norm:
        by_n = sorted(ranked, key=lambda s: -s["norm_precision"])
        paths.append(_curve_plot(os.path.join(out_dir, "norm_precision_plot.png"),
                                 f"Normalized precision plots of OPE on {dataset}",
                                 "Normalized location error threshold", "Precision", np.linspace(0, 0.5, 51),
                                 [(f"[{s['norm_precision']:.3f}] {s['tracker']}", s["norm_precision_curve"])
                                  for s in by_n], "lower right", (0, 0.5)))
    return paths


def plot_got10k(scores: list[dict], out_dir: str, dataset: str) -> list[str]:
    ranked = sorted_scores(scores)
    return [_curve_plot(os.path.join(out_dir, "success_plot.png"), f"Success plots on {dataset}",
                        "Overlap threshold", "Success rate", np.linspace(0, 1, 101),
                        [(f"[{s['ao']:.3f}] {s['tracker']}", s["success_curve"]) for s in ranked],
                        "lower left", (0, 1))]


def plot_eao(scores: list[dict], out_dir: str, dataset: str) -> list[str]:
    """Expected overlap against sequence length, the EAO interval shaded."""
    plt = _pyplot()
    ranked = sorted_scores(scores)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=150)
    low, high = ranked[0]["eao_interval"]
    ax.axvspan(low, high, color="0.9", label=f"EAO interval [{low}, {high}]")
    colors = plt.get_cmap("tab10").colors
    for k, s in enumerate(ranked):
        phi = s["eao_curve"]
        ax.plot(np.arange(1, len(phi) + 1), phi, STYLES[(k // 10) % 4], color=colors[k % 10], lw=2,
                label=f"[{s['eao']:.3f}] {s['tracker']}")
    ax.set(title=f"Expected overlap curves on {dataset}", xlabel="Sequence length",
           ylabel="Expected overlap", ylim=(0, 1.0), xlim=(1, max(len(s["eao_curve"]) for s in ranked)))
    return [_save(plt, fig, ax, os.path.join(out_dir, "eao_curves.png"), "upper right")]


def plot_lt(scores: list[dict], out_dir: str, dataset: str) -> list[str]:
    """Tracking precision against recall over the confidence thresholds; the maximum F marked."""
    plt = _pyplot()
    ranked = sorted_scores(scores)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=150)
    colors = plt.get_cmap("tab10").colors
    for k, s in enumerate(ranked):
        c = colors[k % 10]
        ax.plot(s["recall_curve"], s["precision_curve"], STYLES[(k // 10) % 4], color=c, lw=2,
                label=f"[{s['f_score']:.3f}] {s['tracker']}")
        ax.plot([s["recall"]], [s["precision"]], "o", color=c)
    ax.set(title=f"Tracking precision/recall on {dataset}", xlabel="Tracking recall",
           ylabel="Tracking precision", xlim=(0, 1), ylim=(0, 1))
    return [_save(plt, fig, ax, os.path.join(out_dir, "precision_recall.png"), "lower left")]


def plot_scores(scores: list[dict], out_dir: str, dataset: str, norm: bool = False) -> list[str]:
    """The plots of the scores' protocol; returns the PNG paths written."""
    if not scores:
        return []
    protocol = scores[0]["protocol"]
    if protocol == "ope":
        return plot_ope(scores, out_dir, dataset, norm)
    if protocol == "got10k":
        return plot_got10k(scores, out_dir, dataset)
    if protocol == "vot":
        return plot_eao(scores, out_dir, dataset)
    return plot_lt(scores, out_dir, dataset)


def to_jsonable(score: dict) -> dict:
    """A score dict with arrays as lists and non-finite numbers as None (for json.dump)."""
    def conv(v):
        if isinstance(v, np.ndarray):
            return [conv(x) for x in v.tolist()]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, (float, np.floating)):
            return float(v) if np.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        return v
    return conv(score)
