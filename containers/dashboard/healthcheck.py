"""The dashboard container's HEALTHCHECK (the image has no curl): healthy while Voila serves.

It fetches the page's own script, a static file: proof the server answers and can serve the
page, without starting a kernel the way loading the page itself would every few seconds.
"""

import os
import sys
import urllib.request

URL = "http://127.0.0.1:8866/voila/static/voila.js"
# An exposed server asks every request for its token, this one too.
TOKEN = os.environ.get("NBSTEPS_DASHBOARD_TOKEN", "").strip()
request = urllib.request.Request(URL, headers={"Authorization": f"token {TOKEN}"} if TOKEN
                                 else {})

try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:  # refused, timed out, or an HTTP error status
    print(f"no answer from {URL}: {error}", file=sys.stderr)
    sys.exit(1)
