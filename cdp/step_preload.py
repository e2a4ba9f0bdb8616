"""What every step process of the multiprocess executor would import for itself, imported once.

Step processes fork from a server that imports this module (and cdp.runner, and the modules of the
instance's storage: cdp.runner.step_preload) before the first step; a step then
starts with them loaded. GX is imported only by a step that gates a source (cdp.quality.gate
imports it lazily: commands that gate nothing do not pay for it), so each gated source's step
imported it again, ~3 s each.
"""

from cdp.quality.gate import import_gx

import_gx()
