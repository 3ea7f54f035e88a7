"""The `gp-print` command: parse, call one library function, report.  Nothing else lives here."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from gp_print import __version__
from gp_print.errors import GPPrintError
from gp_print.quality import edition_quality


class _Bar:
    """A progress bar that only draws on a terminal (the nightly log stays readable)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: object | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr,
                                         item_show_func=lambda _: what)
            self.bar.__enter__()  # type: ignore[attr-defined]
        self.bar.update(done - self.bar.pos, what)  # type: ignore[attr-defined]
        if done >= total:
            self.bar.__exit__(None, None, None)  # type: ignore[attr-defined]


@click.group()
@click.version_option(__version__, prog_name="gp-print")
@click.option("-v", "--verbose", is_flag=True, help="Log progress and diagnostics.")
def main(verbose: bool) -> None:
    """The Guernsey Press layout engine."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")
    if not verbose:
        for noisy in ("weasyprint", "fontTools"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


@main.command()
@click.argument("edition", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("out"),
              show_default=True, help="Folder for the press PDFs and the e-edition.")
@click.option("--strict", is_flag=True, help="Fail on any warning (for the nightly run).")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Processes rendering pages  [default: one per CPU]")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="Render the pages on this Dask scheduler's workers (needs gp-print[cluster]; "
                   "README, \"Running on a cluster\").")
def build(edition: Path, out_dir: Path, strict: bool, workers: int | None, scheduler: str | None) -> None:
    """Build every page of EDITION as a press PDF, and the e-edition."""
    from gp_print.build import build_edition

    if scheduler and workers:
        raise click.UsageError("--workers and --scheduler do not go together: the cluster's workers render the pages")
    result = build_edition(edition, out_dir, strict=strict, progress=_Bar("Building"), workers=workers,
                           scheduler=scheduler)
    plan = result.flatplan
    placed = {s.story.slug for p in plan.pages for s in p.stories}
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{plan.edition.title} {plan.edition.date_long}: {len(result.pages)} pages, "
        f"{len(placed)} of {len(plan.edition.stories)} stories placed, {len(plan.jumps)} jumps, "
        f"{len(result.warnings)} warnings, {result.seconds:.1f} s"
    )
    click.echo(edition_quality(plan).summary())
    click.echo(f"press pages in {out_dir}/ (preflight passed, plates.json), e-edition {result.eedition.name}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
def preflight(paths: tuple[Path, ...]) -> None:
    """Check press PDFs as the printing plant does: PDF/X, boxes, fonts, colour, resolution, ink.

    PATHS are PDF files or output folders (their press pages, …-P01.pdf …, are checked).
    Prints a table per page; exits non-zero if any page fails."""
    from gp_print.preflight import PreflightError
    from gp_print.preflight import preflight as run_preflight

    result = run_preflight(paths)
    click.echo(result.table())
    if not result.passed:
        raise PreflightError(f"{len(result.failures)} of {len(result.pages)} page(s) failed preflight")
    warned = sum(1 for p in result.pages if p.status.value == "warn")
    click.echo(f"{len(result.pages)} page(s) passed preflight" + (f", {warned} with warnings" if warned else ""))


@main.command()
@click.argument("edition", type=click.Path(path_type=Path, file_okay=False))
def validate(edition: Path) -> None:
    """Check EDITION and report every problem at once."""
    from gp_print.load import load_edition

    ed = load_edition(edition)
    click.echo(f"{edition}: OK — {len(ed.pages)} pages, {len(ed.stories)} stories, {len(ed.ads)} ads")


@main.command()
@click.argument("edition", type=click.Path(path_type=Path, file_okay=False))
@click.option("--replan", is_flag=True,
              help="Plan every page afresh round the pinned slots and locked pages of flatplan.toml.")
@click.option("--no-write", is_flag=True, help="Only print the flatplan; leave flatplan.toml as it is.")
def plan(edition: Path, replan: bool, no_write: bool) -> None:
    """Plan EDITION, print the flatplan as a table and write it to EDITION/flatplan.toml, where
    the desk can pin slots and lock pages (see README, "The desk's flatplan file")."""
    from gp_print.build import plan as make_plan

    flatplan = make_plan(edition, replan=replan, write=not no_write)
    grid = flatplan.edition.grid
    desk = flatplan.edition.desk
    click.echo(f"{'page':>4}  {'section':<9} {'template':<8} {'fill':>6}  stories / ads   (* pinned, L locked, "
               "= kept from flatplan.toml)")
    for page in flatplan.pages:
        record = desk.page(page.number) if desk else None
        pinned = {(s.story, s.continued_from) for s in record.slots if s.pin} if record else set()
        items = []
        for s in page.stories:
            tag = s.story.slug + ("*" if (s.story.slug, s.continued_from) in pinned else "")
            if s.continued_from:
                tag += f" (from p{s.continued_from})"
            if s.continues_on:
                tag += f" (→ p{s.continues_on})"
            if s.overset_lines:
                tag += f" OVERSET {s.overset_lines} lines"
            items.append(f"{tag} [{s.rect.columns}×{s.rect.lines}]")
        items += [f"AD {a.ad.advertiser} [{a.ad.columns}×{a.ad.height_cm:g}cm]" for a in page.ads]
        items += [f"HOUSE AD {f.kind} [{f.rect.columns}×{f.rect.lines}]" for f in page.fillers]
        mark = "L" if record and record.lock else "=" if page.number in flatplan.kept else " "
        click.echo(f"{page.number:>4}{mark} {page.plan.section:<9} {page.plan.template:<8} "
                   f"{page.fill_ratio(grid) * 100:5.1f}%  " + "; ".join(items))
    for story, reason in flatplan.unplaced:
        click.echo(f"unplaced: {story.slug} — {reason}")
    click.echo(edition_quality(flatplan).summary())
    if desk is not None and not replan:
        planned = [p.number for p in flatplan.pages if p.number not in flatplan.kept]
        click.echo(f"kept {len(flatplan.kept)} page(s) from {desk.path.name}; planned again: "
                   + (", ".join(map(str, planned)) or "none"))
    if not no_write:
        click.echo(f"wrote {flatplan.edition.root / 'flatplan.toml'}")
    for warning in flatplan.warnings:
        click.echo(f"warning: {warning}", err=True)


@main.command(name="import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to write the story file into (an edition's stories/ folder).")
@click.option("--section", default="world", show_default=True, help="Section id for the story.")
@click.option("--priority", default=5, show_default=True, type=click.IntRange(1, 9))
@click.option("--byline", default=None, help="Byline to print.")
@click.option("--photos", "photos_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder to look for the article's pictures in (default: beside FILE).")
def import_(file: Path, out_dir: Path, section: str, priority: int, byline: str | None,
            photos_dir: Path | None) -> None:
    """Turn an article in the website's plain-text form into a story file."""
    from gp_print.importer import import_article

    result = import_article(file, out_dir, section=section, priority=priority, byline=byline,
                            photos_dir=photos_dir)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {result.story_path}")


@main.command()
@click.argument("edition", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("proofs"),
              show_default=True)
@click.option("--dpi", default=100.0, show_default=True, help="Resolution of the PNG pages.")
@click.option("--clean", is_flag=True, help="No marks: pages exactly as printed.")
def proof(edition: Path, out_dir: Path, dpi: float, clean: bool) -> None:
    """Write a PNG of every page of EDITION and a contact sheet; holes, house ads, overset and
    jumps are marked on them unless --clean."""
    from gp_print.build import proof_edition

    sheet = proof_edition(edition, out_dir, dpi=dpi, marks=not clean, progress=_Bar("Proofing"))
    click.echo(f"proofs in {out_dir}/, contact sheet {sheet.name}")


@main.command()
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--pages", default=48, show_default=True, type=click.IntRange(4, 200))
@click.option("--stories", default=120, show_default=True, type=click.IntRange(1, 2000))
@click.option("--seed", default=7, show_default=True, type=int)
def sample(out_dir: Path, pages: int, stories: int, seed: int) -> None:
    """Write a synthetic edition (the same files for the same seed) for tests and benchmarks."""
    from gp_print.synth import make_edition

    if pages % 2:
        raise click.BadParameter("a paper has an even number of pages", param_hint="--pages")
    result = make_edition(out_dir, pages=pages, stories=stories, seed=seed)
    click.echo(f"wrote {result.root}: {result.pages} pages, {result.stories} stories, {result.ads} ads")


@main.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("-o", "--site", "site_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("site"),
              show_default=True, help="The static site to add the edition to (created if needed).")
@click.option("--base-url", default=None, help="Public URL of the site, for absolute links in the feeds.")
def publish(out: Path, site_dir: Path, base_url: str | None) -> None:
    """Publish the build in OUT (press PDFs, e-edition, edition.json) to the readers' static site."""
    from gp_print.site import publish_edition

    result = publish_edition(out, site_dir, base_url=base_url, progress=_Bar("Publishing"))
    click.echo(f"{'replaced' if result.replaced else 'published'} {result.edition_dir}: {result.pages} pages, "
               f"{result.stories} stories, {result.files} files, {result.bytes / 1e6:.1f} MB; archive {result.index}")


@main.command()
@click.argument("site", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
def serve(site: Path, port: int) -> None:
    """Preview the static site SITE on http://127.0.0.1:PORT/ (this machine only)."""
    from gp_print.serve import serve as run_server

    run_server(site, port)


def run() -> None:
    try:
        main(standalone_mode=True)
    except GPPrintError as exc:  # pragma: no cover - click handles ClickException itself
        exc.show()
        sys.exit(exc.exit_code)
