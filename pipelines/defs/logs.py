"""Dagster's run logs go to TRAINSMART_HOME/logs/trainsmart.log; the console logger stays for
`dagster dev` and `--verbose`, and the CLI quiets it otherwise."""

import logging
import logging.handlers

import dagster as dg

from pipelines.config import load_settings


@dg.logger(description="Appends run logs to TRAINSMART_HOME/logs/trainsmart.log.")
def trainsmart_file_logger(init_context) -> logging.Logger:
    path = load_settings().log_file
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("trainsmart.dagster")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        # watched: the handler outlives a run in a long-lived process (dagster dev, the daemon);
        # should the file be rotated or deleted meanwhile, the next line opens it again
        # instead of going into the old, unlinked file
        handler = logging.handlers.WatchedFileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger


defs = dg.Definitions(loggers={"file": trainsmart_file_logger, "console": dg.colored_console_logger})
