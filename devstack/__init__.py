"""The local stack: moto, the FCM and Content Server stand-ins, the API router, the SQS poller
and the schedules, all on 127.0.0.1 so the whole bundle runs on one machine without Docker."""

import sys
from pathlib import Path

# Handlers import the shared package from the layer, as they do on Lambda (/opt/python).
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "shared")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
