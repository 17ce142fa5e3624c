"""`python -m tests.moto_waitress HOST PORT`: moto's S3 API app behind waitress.

moto's own `python -m moto.server` (werkzeug's development server) closes the connection
after every answer, so each S3 call from boto3 pays a new TCP connection; real S3 servers
keep connections open. Behind waitress (the server the registry itself runs on) the
connections are kept, so tests and benchmarks measure the registry rather than reconnects.
"""

import sys

import waitress
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


def main(host: str, port: str) -> None:
    waitress.serve(DomainDispatcherApplication(create_backend_app), host=host, port=int(port),
                   threads=8, channel_timeout=120, ident="moto", _quiet=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
