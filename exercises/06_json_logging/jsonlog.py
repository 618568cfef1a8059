"""Structured logging for the pipeline: one JSON object per line, on stdout.

TODO (exercise 06):
1. JsonFormatter.format(record) returns ONE line of JSON with at least the keys
     timestamp, level, message, module, function
   and, when the record carries exc_info (log.exception does), an "exception" key holding
   the formatted traceback (self.formatException(record.exc_info)).
2. setup() sends records to sys.stdout (never to a file: Docker collects stdout and
   stderr) through JsonFormatter, at the level named by the LOG_LEVEL environment
   variable (default INFO).
"""

import logging


class JsonFormatter(logging.Formatter):
    def format(self, record):
        raise NotImplementedError("TODO: return one JSON object per record")


def setup():
    raise NotImplementedError("TODO: JSON records on stdout, level from LOG_LEVEL")
