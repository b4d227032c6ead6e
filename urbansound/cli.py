"""The ``urbansound`` command: a thin layer over the library (and, for ``run``, the flow)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from urbansound import __version__
from urbansound.exceptions import UrbanSoundError
from urbansound.storage import is_url, name_of
from urbansound.models import MODEL_NAMES
from urbansound.progress import from_cumulative, progress
from urbansound.settings import (
    DEFAULT_AUGMENT,
    LIMITS,
    FeatureSettings,
    PipelineSettings,
    Range,
    TrainSettings,
    field_range,
)
from urbansound.studies import STUDY_NAMES
from urbansound.workspace import Workspace

log = logging.getLogger("urbansound")


def _in(valid: Range) -> Callable[[str], int | float]:
    """argparse type: a number in ``valid`` (settings.py holds every range, so the parser and
    the library refuse alike); the parser's one-line error names the option and the range."""
    def parse(text: str) -> int | float:
        try:
            return valid.parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return parse


def _feature(name: str) -> Callable[[str], int | float]:
    return _in(field_range(FeatureSettings, name))


_SEED = _in(field_range(TrainSettings, "seed"))
_N_SPLITS = _in(field_range(TrainSettings, "n_splits"))


def _floats(value: str) -> tuple[float, ...]:
    """argparse type: comma-separated numbers (a study's grid)."""
    try:
        return tuple(float(v) for v in _csv(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a comma-separated list of numbers") from None


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _add_cluster(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Dask cluster")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="existing Dask scheduler, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS, "
                        "else a LocalCluster on 127.0.0.1)")
    g.add_argument("--workers", type=_in(LIMITS["workers"]), metavar="N", help="LocalCluster worker processes (default: one per core this process may use: CPU affinity and cgroup quota count)")
    g.add_argument("--dashboard-address", default="127.0.0.1:8787", metavar="HOST:PORT",
                   help="LocalCluster dashboard bind address (default: %(default)s; ':0' picks a free port)")


def _add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", type=Path, default=Path("data"),
                   help="where features/, models/, reports/, submissions/ go (default: %(default)s)")
    p.add_argument("--name", help="dataset name in the workspace (default: the data folder's name)")


def _augment(value: str) -> tuple[str, ...]:
    """argparse type: comma-separated KIND:VALUE specs, each checked (urbansound.augment.parse)."""
    if value.strip().lower() in ("", "none", "off"):
        return ()
    from urbansound import augment

    specs = _csv(value)
    try:
        for spec in specs:
            augment.parse(spec)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return specs


def _add_features(p: argparse.ArgumentParser, *, augment: tuple[str, ...] = ()) -> None:
    g = p.add_argument_group("features")
    d = FeatureSettings()
    g.add_argument("--sample-rate", type=_feature("sample_rate"), default=d.sample_rate, help="decode rate, Hz (default: %(default)s)")
    g.add_argument("--n-fft", type=_feature("n_fft"), default=d.n_fft, help="STFT frame, samples (default: %(default)s)")
    g.add_argument("--hop-length", type=_feature("hop_length"), default=d.hop_length, help="STFT hop, samples (default: %(default)s)")
    g.add_argument("--n-mels", type=_feature("n_mels"), default=d.n_mels, help="mel bands (default: %(default)s)")
    g.add_argument("--n-mfcc", type=_feature("n_mfcc"), default=d.n_mfcc, help="MFCC coefficients (default: %(default)s)")
    g.add_argument("--n-bands", type=_feature("n_bands"), default=d.n_bands,
                   help="log-spaced bands of the fft_band_* columns (default: %(default)s)")
    g.add_argument("--pcen-bands", type=_feature("pcen_bands"), default=d.pcen_bands,
                   help="bands of the pcen_* set, a divisor of --n-mels (default: %(default)s)")
    g.add_argument("--mel-bands", type=_feature("mel_bands"), default=d.mel_bands,
                   help="bands of the log-mel spectrogram stored for the cnn, a divisor of --n-mels "
                        "(default: 64 where it divides --n-mels, else --n-mels)")
    g.add_argument("--sequence-frames", type=_feature("sequence_frames"), default=d.sequence_frames,
                   help="MFCC and log-mel frames kept per clip for the rnn and the cnn (default: %(default)s)")
    g.add_argument("--augment", type=_augment, default=augment, metavar="KIND:VALUE,...|none",
                   help="training-time augmentation: extra rows for each training clip, e.g. speed:0.9,speed:1.1 "
                        "(kinds: speed, pitch, stretch, gain, noise; see urbansound/augment.py); "
                        f"default: {','.join(augment) or 'none'}")
    g.add_argument("--max-seconds", type=_feature("max_seconds"), default=d.max_seconds,
                   help="longest clip featurized, s, read from its header before the file is: longer ones are "
                        "recorded as failures (default: %(default)g)")
    g.add_argument("--batch-size", type=_feature("batch_size"), default=d.batch_size, help="clips per Dask task (default: %(default)s)")
    p.add_argument("--allow-missing", action="store_true",
                   help="run over the clips present when some listed audio files are missing")


def _add_train(p: argparse.ArgumentParser) -> None:
    d = TrainSettings()
    g = p.add_argument_group("training")
    g.add_argument("--models", type=_csv, default=d.models,
                   help=f"comma-separated model names, or all (default: {','.join(d.models)}); "
                        f"choose from {', '.join(MODEL_NAMES)}")
    g.add_argument("--feature-sets", type=_csv, default=d.feature_sets,
                   help=f"comma-separated feature sets: time, fft, mfcc, '+'-joined combinations (time+mfcc) "
                        f"or all (default: {','.join(d.feature_sets)})")
    g.add_argument("--cv", choices=("auto", "official", "grouped", "kfold"), default=d.cv,
                   help="CV protocol (default: %(default)s: official folds, else grouped by recording, else k-fold)")
    g.add_argument("--n-splits", type=_N_SPLITS, default=d.n_splits, help="folds for grouped/kfold (default: %(default)s)")
    g.add_argument("--seed", type=_SEED, default=d.seed, help="random seed (default: %(default)s)")
    g.add_argument("--show-leak", action="store_true",
                   help="also score a random split of the same clips beside the honest protocol")
    _add_set(g)
    g.add_argument("--tune", action="store_true",
                   help="choose each model's main regularisation (models/registry.py TUNING_GRIDS) by 3-fold CV "
                        "grouped by recording inside every training side, in the same Dask task (~3-12x the "
                        "fitting time); the choices are recorded per fold in cv.json")
    g.add_argument("--no-augmented", dest="augmented", action="store_false",
                   help="leave out the table's augmented rows (default: fit on those made from each split's "
                        "training clips; they are never scored)")


def _add_set(g: argparse._ActionsContainer) -> None:
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="MODEL.PARAM=VALUE",
                   help="override a model's hyper-parameter, repeatable (e.g. --set fnn.lam=1e-3 --set fnn.hidden=10,10 "
                        "--set fnn.solver=gd --set logreg.logisticregression__C=0.1); recorded in cv.json; "
                        "an unknown name lists the valid ones")


def _overrides(a: argparse.Namespace) -> dict[str, dict[str, object]]:
    from urbansound.models import parse_override

    params: dict[str, dict[str, object]] = {}
    for text in a.overrides:
        model, param, value = parse_override(text)
        params.setdefault(model, {})[param] = value
    return params


def _feature_settings(a: argparse.Namespace) -> FeatureSettings:
    return FeatureSettings(sample_rate=a.sample_rate, n_fft=a.n_fft, hop_length=a.hop_length,
                           n_mels=a.n_mels, n_mfcc=a.n_mfcc, n_bands=a.n_bands, pcen_bands=a.pcen_bands,
                           mel_bands=a.mel_bands, sequence_frames=a.sequence_frames,
                           augment=a.augment, max_seconds=a.max_seconds, batch_size=a.batch_size)


def _train_settings(a: argparse.Namespace) -> TrainSettings:
    return TrainSettings(models=a.models, feature_sets=a.feature_sets, cv=a.cv, n_splits=a.n_splits, seed=a.seed,
                         show_leak=a.show_leak, augmented=a.augmented, tune=a.tune,
                         params=_overrides(a))


# ------------------------------------------------------------------ commands
def cmd_synth(a: argparse.Namespace) -> int:
    from urbansound import synth

    if a.dir.exists() and (not a.dir.is_dir() or any(a.dir.iterdir())) and not a.force:
        raise UrbanSoundError(f"{a.dir} exists and is not empty: synth would overwrite the files there; choose "
                              "another folder, or pass --force")
    with progress("synth", 0, "clips") as tick:
        meta = synth.write_dataset(a.dir, layout=a.layout, clips_per_class=a.clips_per_class, seed=a.seed,
                                   snr_db=a.snr_db, formats=a.formats, jobs=a.jobs, on_clip=tick)
    print(f"wrote {len(meta)} synthetic clips ({a.layout} layout, seed {a.seed}, {a.formats} formats, "
          f"SNR {a.snr_db:g} dB) to {a.dir}")
    return 0


def cmd_fetch(a: argparse.Namespace) -> int:
    from urbansound.fetch import fetch

    with progress("download", 0, "MiB") as tick:
        root = fetch(a.name, a.dir, url=a.url, progress=from_cumulative(tick, scale=1 / 2**20),
                     keep_archive=not a.remove_archive)
    print(f"{a.name} is ready in {root}; next: urbansound validate {root}")
    return 0


def cmd_validate(a: argparse.Namespace) -> int:
    from urbansound.validate import validate

    report = validate(a.data_dir, allow_missing=a.allow_missing, check_audio=not a.no_audio_check,
                      show_all=a.show_all)
    print(report.text)
    return 0 if report.ok else 1


def cmd_featurize(a: argparse.Namespace) -> int:
    from urbansound.cluster import dask_client
    from urbansound.datasets import read_dataset
    from urbansound.featurize import featurize_dataset

    dataset = read_dataset(a.data_dir, allow_missing=a.allow_missing)
    name = a.name or name_of(a.data_dir)
    out = a.out or Workspace(a.workspace, name).features
    settings = _feature_settings(a)
    with (dask_client(a.scheduler, a.workers, dashboard_address=a.dashboard_address) as client,
          progress("featurize", len(dataset.clips), "clips") as tick):
        summary = featurize_dataset(dataset.clips, settings, out, client, on_progress=from_cumulative(tick),
                                    source=dataset.root)
    print(summary.describe())
    for f in summary.failures[:20]:
        print(f"  failed: {f['path']}: {f['error']}")
    return 0


def _table_and_name(a: argparse.Namespace) -> tuple[Path, str]:
    """The feature table a command reads, and the dataset name: ``a.features_dir`` is a
    feature folder, or a dataset folder whose table is found in the workspace by its name."""
    from urbansound.datasets import detect_layout
    from urbansound.exceptions import DatasetError
    from urbansound.workspace import MANIFEST_FILE

    path = Path(a.features_dir)
    if (path / MANIFEST_FILE).is_file() or any(path.glob("part-*.parquet")):
        return path, a.name or path.resolve().name
    try:
        detect_layout(path)
    except DatasetError:
        raise UrbanSoundError(f"{path}: neither a dataset folder nor a feature table; give the dataset folder "
                              "(after `urbansound featurize`) or the feature folder it wrote") from None
    name = a.name or path.resolve().name
    features = Workspace(a.workspace, name).features
    if not (features / MANIFEST_FILE).is_file():
        raise UrbanSoundError(f"no feature table for {name} at {features}; run `urbansound featurize {path}"
                              f"{'' if a.workspace == Path('data') else f' --workspace {a.workspace}'}` first")
    return features, name


def cmd_train(a: argparse.Namespace) -> int:
    settings = _train_settings(a)  # an unknown --set name fails here, before the heavy imports
    from urbansound.cluster import dask_client
    from urbansound.training import check_overrides, expand_models, train

    features, name = _table_and_name(a)
    ws = Workspace(a.workspace, name)
    check_overrides(expand_models(settings.models), settings.params)  # before any cluster starts
    with (dask_client(a.scheduler, a.workers, dashboard_address=a.dashboard_address) as client,
          progress("train", 0, "fits") as tick):
        result = train(features, settings, dataset=name, reports_dir=ws.reports,
                       models_dir=ws.models, client=client, on_task=tick)
    print(result.report.markdown())
    print(result.describe())
    return 0


def cmd_study(a: argparse.Namespace) -> int:
    from urbansound.studies import points

    overrides = _overrides(a)  # an unknown --set name fails here, before the heavy imports
    pts = points(a.which, values=a.values, epochs=a.epochs, overrides=overrides)
    from urbansound.cluster import dask_client
    from urbansound.studies.run import check_points, run_study

    check_points(pts)  # every value, before anything is read
    features, name = _table_and_name(a)
    ws = Workspace(a.workspace, name)
    settings = TrainSettings(cv=a.cv, n_splits=a.n_splits, seed=a.seed)
    with (dask_client(a.scheduler, a.workers, dashboard_address=a.dashboard_address) as client,
          progress(f"study {a.which}", 0, "fits") as tick):
        result = run_study(a.which, features, settings, feature_set=a.feature_set, dataset=name,
                           reports_dir=ws.reports, client=client, epochs=a.epochs, values=a.values,
                           overrides=overrides, on_task=tick)
    print(result.markdown())
    print(f"\nwritten to {result.path} (and .md); `urbansound report` draws it")
    return 0


def cmd_runs(a: argparse.Namespace) -> int:
    from urbansound.provenance import list_runs
    from urbansound.workspace import RUNS_DIR

    ws = Workspace(a.workspace, a.name or name_of(a.data_dir))
    rows = list_runs(ws.reports)
    if not rows:
        raise UrbanSoundError(f"no train runs kept for {ws.name} in {ws.reports / RUNS_DIR}; run `urbansound train "
                              f"{a.data_dir}` first")
    print(f"train runs of {ws.name} ({ws.reports / RUNS_DIR}), oldest first:")
    print("| time (UTC) | run | protocol | clips | best | accuracy | commit |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        commit = (r["git_commit"] or "-")[:12] + ("+dirty" if (r["git_commit"] or "").endswith("+dirty") else "")
        print(f"| {r['time']} | {r['id']} | {r['protocol']} | {r['clips']} | {r['best']} | "
              f"{r['mean']:.3f} +- {r['std']:.3f} | {commit} |")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from urbansound.report import build_report

    ws = Workspace(a.workspace, a.name or name_of(a.data_dir))
    with progress("report", 0, "figures") as tick:
        path = build_report(ws, data_dir=a.data_dir, on_figure=tick)
    print(f"report: {path} (figures in {path.parent / 'figures'})")
    return 0


def cmd_submit(a: argparse.Namespace) -> int:
    from urbansound.datasets import read_dataset
    from urbansound.submission import submit

    dataset = read_dataset(a.data_dir, allow_missing=a.allow_missing)
    ws = Workspace(a.workspace, a.name or name_of(a.data_dir))
    result = submit(dataset, a.features or ws.features, a.model or ws.model, a.out or ws.submission)
    print(result.describe())
    return 0


EPHEMERAL_TIMEOUT_VAR = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def _check_prefect_api(required: bool) -> str | None:
    """The Prefect API URL in use, checked to answer within 5 s; None for none (``run`` then
    starts a temporary server). One clear error instead of a page of retries."""
    from prefect.settings import PREFECT_API_URL

    from urbansound.exceptions import ClusterError

    url = PREFECT_API_URL.value()
    if not url:
        if required:
            raise UrbanSoundError("serve needs a Prefect server: start one with `prefect server start` and set "
                                  "PREFECT_API_URL=http://127.0.0.1:4200/api")
        return None
    import httpx

    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=5).raise_for_status()
    except (httpx.HTTPError, ValueError) as e:
        raise ClusterError(f"the Prefect server at {url!r} (PREFECT_API_URL) does not answer: {e}. Start it "
                           "(`prefect server start`), fix the URL"
                           + (", or unset PREFECT_API_URL to run with a temporary local server" if not required
                              else "") + ".") from None
    return url


def cmd_run(a: argparse.Namespace) -> int:
    # Before Prefect is imported: no telemetry calls from a machine that may be offline.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's 20 s for its temporary server is missed on a loaded two-core machine
    os.environ.setdefault(EPHEMERAL_TIMEOUT_VAR, "90")
    from urbansound.datasets import read_dataset

    read_dataset(a.data, allow_missing=a.allow_missing)  # a bad dataset fails in seconds, before any server
    _check_prefect_api(required=False)
    from urbansound.flows.pipeline import run_pipeline

    settings = PipelineSettings(data_dir=a.data, workspace=a.workspace, name=a.name, features=_feature_settings(a),
                                train=_train_settings(a), allow_missing=a.allow_missing)
    try:
        summary = run_pipeline(settings, scheduler=a.scheduler, workers=a.workers,
                               dashboard_address=a.dashboard_address, log_summary=False)
    except RuntimeError as e:
        if "ephemeral Prefect API server" not in str(e):
            raise
        from urbansound.exceptions import ClusterError

        raise ClusterError(f"Prefect's temporary server did not start within {os.environ[EPHEMERAL_TIMEOUT_VAR]} s "
                           f"(a busy machine?). Run again, raise {EPHEMERAL_TIMEOUT_VAR}, or start a server "
                           "(`prefect server start`) and set PREFECT_API_URL=http://127.0.0.1:4200/api") from None
    print()
    print(summary.describe())
    return 0


def cmd_serve(a: argparse.Namespace) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if (a.cron is None) == (a.interval is None):
        raise UrbanSoundError("give exactly one schedule: --cron EXPR or --interval SECONDS")
    if a.cron is not None:
        from prefect.client.schemas.schedules import CronSchedule  # Prefect's own check

        try:
            CronSchedule(cron=a.cron)
        except ValidationError:
            raise UrbanSoundError(f"--cron {a.cron!r} is not a valid cron expression (e.g. '0 3 * * *')") from None
    api_url = _check_prefect_api(required=True)
    if a.scheduler:  # scheduled runs start in fresh processes: the environment reaches them
        os.environ["DASK_SCHEDULER_ADDRESS"] = a.scheduler
    from urbansound.flows.pipeline import serve_pipeline

    settings = PipelineSettings(data_dir=a.data if isinstance(a.data, str) else a.data.absolute(), workspace=a.workspace.absolute(), name=a.name,
                                features=_feature_settings(a), train=_train_settings(a),
                                allow_missing=a.allow_missing)
    log.info("serving the pipeline on %s (%s) against %s; Ctrl-C stops", settings.data_dir,
             f"cron {a.cron!r}" if a.cron else f"every {a.interval:g} s", api_url)
    serve_pipeline(settings, cron=a.cron, interval=a.interval, name=a.deployment)
    return 0


def _dataset(text: str) -> Path | str:
    """A dataset argument: a folder, or an fsspec URL kept as text (see urbansound.storage)."""
    return text if is_url(text) else Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="urbansound",
        description="urbansound: a parallel batch pipeline for the Urban Sound challenge "
        "(Prefect flows over Dask; Parquet features; cross-validated models; submission CSV).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (including Dask's own messages)")
    parser.add_argument("--version", action="version", version=f"urbansound {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("synth", help="write a deterministic synthetic dataset")
    p.add_argument("dir", type=Path, help="destination folder")
    p.add_argument("--layout", choices=("av", "urbansound8k"), default="av", help="dataset layout (default: %(default)s)")
    p.add_argument("--clips-per-class", type=_in(LIMITS["clips_per_class"]), default=40, help="clips of each common class (default: %(default)s)")
    p.add_argument("--seed", type=_SEED, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--snr-db", type=_in(LIMITS["snr_db"]), default=6.0,
                   help="difficulty: foreground-to-background ratio in dB, lower is harder (default: %(default)s)")
    p.add_argument("--formats", choices=("real", "simple"), default="real",
                   help="real: the real mix of rates, depths, channels; simple: 22050 Hz mono 16-bit (default: %(default)s)")
    p.add_argument("--jobs", type=_in(LIMITS["jobs"]), help="processes writing clips (default: one per usable core)")
    p.add_argument("--force", action="store_true", help="write into a folder that is not empty, overwriting")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("fetch", help="download, verify (md5) and unpack a public dataset; resumes")
    p.add_argument("name", help="dataset to fetch: urbansound8k")
    p.add_argument("dir", type=Path, help="destination folder")
    p.add_argument("--url", help="download from this mirror instead (the md5 is still checked)")
    p.add_argument("--remove-archive", action="store_true", help="delete the archive once unpacked")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("validate", help="check a dataset folder and report on it; exit 1 on errors")
    p.add_argument("data_dir", type=_dataset, help="dataset folder or URL (s3://bucket/prefix); UrbanSound8K or AV layout")
    p.add_argument("--allow-missing", action="store_true", help="missing audio files are a warning, not an error")
    p.add_argument("--show-all", action="store_true", help="list every missing and unreadable file (and the present ones)")
    p.add_argument("--no-audio-check", action="store_true", help="skip reading each audio file's header")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("featurize", help="decode every clip and write the Parquet feature table")
    p.add_argument("data_dir", type=_dataset, help="dataset folder or URL (s3://bucket/prefix); UrbanSound8K or AV layout")
    p.add_argument("--out", type=Path, help="feature table folder (default: WORKSPACE/features/NAME)")
    _add_workspace(p)
    _add_features(p)
    _add_cluster(p)
    p.set_defaults(func=cmd_featurize)

    p = sub.add_parser("train", help="cross-validate models, write the CV report, save the best")
    p.add_argument("features_dir", type=Path, metavar="DATA_DIR",
                   help="the dataset folder (its feature table is found in the workspace by its name), or a "
                        "feature table folder written by featurize")
    _add_workspace(p)
    _add_train(p)
    _add_cluster(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("study", help="the seed project's experiments: activations, regularization, learning-rate, solver")
    p.add_argument("which", choices=STUDY_NAMES,
                   help="activations: fnn with hidden 10, 10+10, 10+10+10 x linear, sigmoid, tanh, relu, leaky_relu, "
                        "elu; regularization: L2 weight λ of gd-logreg and fnn over 0, 1e-6 ... 1; learning-rate: "
                        "η of fnn by full-batch GD and minibatch SGD over 1e-4 ... 1; solver: fnn by GD, GD with "
                        "momentum, SGD batch 1, batch 64, batch 64 with momentum (accuracy and loss per epoch, "
                        "seconds per epoch)")
    p.add_argument("features_dir", type=Path, metavar="DATA_DIR",
                   help="the dataset folder (its feature table is found in the workspace by its name), or a "
                        "feature table folder written by featurize")
    p.add_argument("--feature-set", default="mfcc", help="input features (default: %(default)s)")
    p.add_argument("--epochs", type=_in(LIMITS["epochs"]),
                   help="epochs of every fit (default: the model's own; 100 for learning-rate and solver)")
    p.add_argument("--values", type=_floats, metavar="LIST",
                   help="the grid instead of the default one: λ values for regularization, η values for "
                        "learning-rate, comma-separated (e.g. 0,1e-3,1e-1)")
    _add_set(p)
    p.add_argument("--cv", choices=("auto", "official", "grouped", "kfold"), default="auto",
                   help="CV protocol (default: official folds where the dataset has them, else grouped by recording)")
    p.add_argument("--n-splits", type=_N_SPLITS, default=5, help="folds for grouped/kfold (default: %(default)s)")
    p.add_argument("--seed", type=_SEED, default=0, help="random seed (default: %(default)s)")
    _add_workspace(p)
    _add_cluster(p)
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("submit", help="predict the test clips and write the submission CSV")
    p.add_argument("data_dir", type=_dataset, help="dataset folder or URL (AV layout, with test.csv)")
    p.add_argument("--features", type=Path, help="feature table folder (default: WORKSPACE/features/NAME)")
    p.add_argument("--model", type=Path,
                   help="model file written by `urbansound train` (default: WORKSPACE/models/NAME/model.skops); "
                        "skops format: loading cannot run code, and a file holding types an urbansound model "
                        "never holds is refused, as is a pickle")
    p.add_argument("--out", type=Path, help="CSV to write (default: WORKSPACE/submissions/NAME.csv)")
    p.add_argument("--allow-missing", action="store_true", help="accept a dataset with missing audio files")
    _add_workspace(p)
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("report", help="write the HTML report (figures, CV, study, run facts) of a dataset")
    p.add_argument("data_dir", type=_dataset, help="dataset folder or URL (names the dataset in the workspace)")
    _add_workspace(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("runs", help="list the kept train runs of a dataset with their best accuracy")
    p.add_argument("data_dir", type=_dataset, help="dataset folder or URL (names the dataset in the workspace)")
    _add_workspace(p)
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("run", help="the whole pipeline as one Prefect flow run on Dask")
    p.add_argument("--data", type=_dataset, default=Path("data/raw/synthetic-av"), help="dataset folder or URL (s3://...; default: %(default)s)")
    _add_workspace(p)
    _add_features(p, augment=DEFAULT_AUGMENT)
    _add_train(p)
    _add_cluster(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("serve", help="serve the pipeline as a Prefect deployment on a schedule (needs PREFECT_API_URL)")
    p.add_argument("--data", type=_dataset, default=Path("data/raw/synthetic-av"), help="dataset folder or URL (s3://...; default: %(default)s)")
    p.add_argument("--cron", help="cron schedule, e.g. '0 3 * * *' (03:00 every day)")
    p.add_argument("--interval", type=_in(LIMITS["interval"]), metavar="SECONDS", help="run every SECONDS instead of a cron schedule")
    p.add_argument("--deployment", default="scheduled", help="deployment name (default: %(default)s)")
    _add_workspace(p)
    _add_features(p, augment=DEFAULT_AUGMENT)
    _add_train(p)
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="existing Dask scheduler for the runs (default: $DASK_SCHEDULER_ADDRESS, else a LocalCluster per run)")
    p.set_defaults(func=cmd_serve)
    return parser


def _configure_logging(verbose: bool) -> None:
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "[%(levelname)s] %(message)s"
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format=fmt, stream=sys.stderr)
    logging.getLogger("urbansound").setLevel(logging.INFO)
    if not verbose:
        # Dask sets its loggers' levels from its config when imported, in every worker
        # process too: the environment reaches them all.
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
        for noisy in ("distributed", "bokeh", "tornado", "numba"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Errors are one message naming the value and what to do (exit 1; 2
    for an invalid setting; 130 for Ctrl-C); ``-v`` adds the traceback."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return args.func(args)
    except (UrbanSoundError, FileNotFoundError) as e:
        return _fail(args, f"error: {e}", 1)
    except ValidationError as e:
        return _fail(args, f"invalid setting: {_one_line(e)}", 2)
    except KeyboardInterrupt:
        return _fail(args, "interrupted; finished outputs are kept (every write is atomic) and a re-run resumes", 130)
    except PermissionError as e:
        return _fail(args, f"error: no permission for {e.filename or e}: choose another --workspace or --out, "
                           "or fix its permissions", 1)
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        return _fail(args, f"error: {e.strerror or e}{where}", 1)


def _one_line(e: ValidationError) -> str:
    """pydantic's report (a line per field, then a URL) as one line: field, then why."""
    parts = []
    for err in e.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")  # our own checks' messages name the field already
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    if args.verbose:
        import traceback

        traceback.print_exc()
    print(f"urbansound {args.command}: {message}", file=sys.stderr)
    return code
