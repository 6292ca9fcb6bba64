"""The demo: a realistic year of a wedding business sent through a running pipeline (docs/demo.md).

`story.generate` tells the year (seeded: a seed and an end date always give the same events and ids) of the
`business`, through `recorder`, `activity` and `payments`, into a `year.Year`; `delivery` sends it through the real
ingest and webhook endpoints, `run` ties it together and prints the headline numbers.
"""

from __future__ import annotations
