"""The demo world: everything that stands in for the outside world, kept apart from the product.

- `strava_server`: a Strava-compatible API on 127.0.0.1 (OAuth, paging, rate limits, faults);
- `sample_athlete`: the generated two-year trail runner it serves;
- `sample_export`, `fit_writer`: that athlete as a Strava bulk export with FIT/GPX/TCX files;
- `report_fixture`: a hand-made warehouse the report tests render;
- `demo`: `trainsmart demo` / `make demo`, which wires them to the real pipeline.

Only `trainsmart demo`, the tests and the scripts import this package; the product never does.
"""
