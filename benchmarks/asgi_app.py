"""cozy under Django's ASGI handler, for bench_slow_clients' ``--server uvicorn`` only.

Not part of the product: cozy serves with gunicorn's gevent worker (cozy.core.web), and
its streaming uploads and downloads rely on it (docs/s3.md, "Serving many slow clients").
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cozy.settings")
application = get_asgi_application()
