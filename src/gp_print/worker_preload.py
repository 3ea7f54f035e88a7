"""Loaded once in the page workers' fork server (`build.start_workers`): fontconfig pointed at
fonts/ first, then WeasyPrint and the page code.  Each worker is forked from that server with
all of it in memory, instead of loading it again (about 0.8 s a worker)."""

from gp_print.fetch import configure_fonts

configure_fonts()

import weasyprint  # noqa: E402, F401

from gp_print import build, preflight, render  # noqa: E402, F401
