"""gunicorn settings for Tessera's web process (`gunicorn -c python:marketplace.gunicorn_conf`).

gunicorn writes `Server: gunicorn` into every response before the application's headers, and has no setting to turn
it off: the banner tells an attacker which server and which release to look up, so it is left out here. The master
loads this module before it forks, so every worker answers without it.
"""

from gunicorn.http import wsgi

_default_headers = wsgi.Response.default_headers


def _without_server_banner(response: wsgi.Response) -> list[str]:
    return [line for line in _default_headers(response) if not line.lower().startswith("server:")]


wsgi.Response.default_headers = _without_server_banner
