"""Start the feature API: ``cd api && python main.py [--host H] [--port P]``."""

from __future__ import annotations

import argparse

import uvicorn

from api.app import create_app
from taxi_platform.settings import load_settings


def main() -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(description="Chicago Taxi feature API")
    parser.add_argument("--host", default=settings.api_host, help="default TAXI_API_HOST")
    parser.add_argument("--port", type=int, default=settings.api_port, help="default TAXI_API_PORT")
    args = parser.parse_args()
    print(f"feature API on http://{args.host}:{args.port} (docs: /docs)", flush=True)
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, access_log=False, log_level="warning"
    )


if __name__ == "__main__":
    main()
