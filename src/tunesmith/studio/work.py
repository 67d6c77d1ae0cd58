"""The studio's files and models: the models it offers (the zoo and the runs under --runs), uploads taken into
its own folder under safe names and read by the crash-isolated readers, and result folders kept bounded.

Nothing a browser sends becomes a path: a model is looked up by its name in the catalogue, an upload is copied
to a name the studio makes, and every folder the studio writes is under `StudioSettings.work` or `.runs`."""

from __future__ import annotations

import re
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tunesmith.data import DEFAULT_LIMITS, MUSIC_SUFFIXES, Rejected, read_pieces
from tunesmith.data.safe import read_alone
from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece
from tunesmith.runs import read_config
from tunesmith.runs.zoo import zoo_models
from tunesmith.studio.settings import StudioSettings

ZIP_SUFFIX = ".zip"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Model:
    """A model the studio offers: its name in the page, its run directory, family and corpus."""

    name: str
    path: Path
    family: str
    corpus: str
    purpose: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.family}, {self.corpus})"


def find_models(settings: StudioSettings) -> list[Model]:
    """The zoo's models, then every trained run under `settings.runs` (named runs/NAME)."""
    models = [Model(m.name, m.path, m.family, m.corpus_label, m.purpose) for m in zoo_models()]
    if settings.runs.is_dir():
        for folder in sorted(p for p in settings.runs.iterdir() if p.is_dir()):
            if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
                try:
                    config = read_config(folder)
                except TunesmithError:
                    continue  # a damaged run is not offered
                corpus = str((config.get("corpus") or {}).get("source", "?"))
                models.append(Model(f"runs/{folder.name}", folder, str(config.get("family")), Path(corpus).name or corpus,
                                    f"trained here on {corpus}"))
    return models


def model_named(settings: StudioSettings, name: str | None, family: str | None = None) -> Model:
    """The offered model called `name` (never a path the browser made up), of `family` when given."""
    found = {m.name: m for m in find_models(settings)}
    model = found.get(str(name or ""))
    if model is None:
        raise TunesmithError(f"no model named {name!r} here (choose one of: {', '.join(found) or 'none'})")
    if family is not None and model.family != family:
        raise TunesmithError(f"{model.name} is a {model.family} model; this page needs a {family} model")
    return model


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name's last part with only letters, digits, '.', '_' and '-' (no folder, no leading dot)."""
    base = SAFE_NAME.sub("_", Path(str(name).replace("\\", "/")).name).lstrip(".")
    return base[:80] or fallback


def new_folder(settings: StudioSettings, kind: str) -> Path:
    """A fresh folder under work/KIND, named by time and a random part; the oldest beyond
    `settings.kept_results` are removed, so the disk holds a bounded number of results."""
    parent = settings.folder(kind)
    folder = parent / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    for old in sorted(parent.iterdir())[:-settings.kept_results]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def _size_ok(path: Path, settings: StudioSettings, name: str) -> None:
    if path.stat().st_size > settings.upload_bytes:
        raise TunesmithError(f"{name} is larger than the {settings.upload_mb:g} MB an upload may be")


def take_uploads(paths: list[str] | str | None, settings: StudioSettings, *, allow_zip: bool = False) -> list[Path]:
    """Copy uploaded music files (and the music inside uploaded zips, when `allow_zip`) into a fresh uploads
    folder under names the studio makes; a file too large, too many files, or a kind that is not music is a
    one-line error."""
    given = [paths] if isinstance(paths, str) else list(paths or [])
    if not given:
        raise TunesmithError("no file uploaded")
    if len(given) > settings.upload_files:
        raise TunesmithError(f"{len(given)} files: at most {settings.upload_files} may be uploaded at once")
    folder = new_folder(settings, "uploads")
    taken: list[Path] = []
    for index, given_path in enumerate(given):
        source = Path(given_path)
        name = safe_name(source.name)
        suffix = Path(name).suffix.lower()
        _size_ok(source, settings, name)
        if suffix == ZIP_SUFFIX and allow_zip:
            taken += _unzip(source, folder / f"{index:03d}", settings, already=len(taken))
        elif suffix in MUSIC_SUFFIXES:
            target = folder / f"{index:03d}-{name}"
            shutil.copyfile(source, target)
            taken.append(target)
        else:
            kinds = ", ".join(MUSIC_SUFFIXES + ((ZIP_SUFFIX,) if allow_zip else ()))
            raise TunesmithError(f"{name}: not a music file (expected one of {kinds})")
        if len(taken) > settings.upload_files:
            raise TunesmithError(f"more than {settings.upload_files} files uploaded at once")
    return taken


def _unzip(source: Path, folder: Path, settings: StudioSettings, already: int) -> list[Path]:
    """The music files inside a zip, each written under a name made here (its folders dropped), within the
    limits on size and count; a damaged zip is a one-line error."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TunesmithError(f"{safe_name(source.name)} is not a readable zip ({exc})") from exc
    out: list[Path] = []
    folder.mkdir(parents=True)
    with archive:
        for index, member in enumerate(m for m in archive.infolist() if not m.is_dir()):
            name = safe_name(member.filename)
            if Path(name).suffix.lower() not in MUSIC_SUFFIXES:
                continue
            if already + len(out) >= settings.upload_files:
                raise TunesmithError(f"the zip holds more than {settings.upload_files} music files")
            if member.file_size > settings.upload_bytes:
                raise TunesmithError(f"{name} in the zip is larger than the {settings.upload_mb:g} MB a file may be")
            target = folder / f"{index:04d}-{name}"
            with archive.open(member) as data, open(target, "wb") as written:
                shutil.copyfileobj(data, written, length=1 << 20)
                if written.tell() > settings.upload_bytes:  # the zip lied about the size
                    raise TunesmithError(f"{name} in the zip is larger than the {settings.upload_mb:g} MB a file may be")
            out.append(target)
    if not out:
        raise TunesmithError(f"{safe_name(source.name)} holds no music files ({', '.join(MUSIC_SUFFIXES)})")
    return out


def read_upload(path: Path) -> Piece:
    """One uploaded file as a Piece, read in a worker process that may crash; its reason otherwise."""
    found = read_alone(path, DEFAULT_LIMITS)
    if isinstance(found, Rejected):
        raise TunesmithError(found.reason)
    return found


def read_uploads(paths: list[Path]) -> tuple[list[Piece], list[Rejected]]:
    """Uploaded files as Pieces, and those that could not be read with their reasons."""
    pieces: list[Piece] = []
    rejected: list[Rejected] = []
    for found in read_pieces(paths, limits=DEFAULT_LIMITS, workers=1):
        (rejected if isinstance(found, Rejected) else pieces).append(found)  # type: ignore[arg-type]
    return pieces, rejected


def zip_files(files: list[Path], target: Path, root: Path | None = None) -> Path:
    """The files in one zip (named from `root`, else by their own names), written whole or not at all."""
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, str(file.relative_to(root)) if root else file.name)
    partial.replace(target)
    return target
