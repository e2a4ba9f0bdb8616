"""dbt's static docs page, made to load nothing from the internet.

`dbt docs generate --static` inlines the manifest and catalog into one HTML file. Its script still
carries a usage tracker that, when tracking is on, inserts a <script> from a CDN; cdp turns
tracking off (dbt_project.yml flags), removes the loader, and adds a Content-Security-Policy that
lets the page load nothing but itself. `remote_references` finds what would still load remotely.
"""

from __future__ import annotations

import re
from pathlib import Path

from cdp.paths import Home

# The page's own inline script, styles, data: images and fonts; nothing fetched from anywhere.
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")
_TRACKER_LOADER = re.compile(r"""\.src\s*=\s*(["'])(?:https?:)?//[^"']*\1""")
_TRACKING_SWITCH = "!0===e.track&&r.turn_on_tracking()"
_REMOTE_ATTRIBUTE = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*["']?(?:https?:)?//""",
    re.IGNORECASE)


def docs_page(home: Home) -> Path:
    """The dbt docs site, published with the marts beside the quality reports."""
    return home.quality_reports.parent / "warehouse" / "index.html"


def offline_docs(html: str) -> str:
    html = _TRACKER_LOADER.sub(".src=''", html).replace(_TRACKING_SWITCH, "!1")
    html = re.sub(r"<head(\s[^>]*)?>", lambda m: m.group(0) + f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
                  html, count=1, flags=re.IGNORECASE)
    remote = remote_references(html)
    if remote:
        raise ValueError(f"the dbt docs page still loads remote content: {remote[:3]}")
    return html


def remote_references(html: str) -> list[str]:
    """Tags whose src/href points off the page, and scripts that set a remote src."""
    found = [m.group(0)[:120] for m in _REMOTE_ATTRIBUTE.finditer(html)]
    found += [m.group(0)[:120] for m in _TRACKER_LOADER.finditer(html)]
    return found
