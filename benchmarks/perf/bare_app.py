"""The reference: one async JSON route on FastAPI, served as ``opsloop serve`` serves opsloop.

    python bare_app.py PORT WORKERS

Run with the measured checkout's Python, so that FastAPI, uvicorn and their versions are the
same as under opsloop.
"""

import sys

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(
        "bare_app:app",
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=int(sys.argv[2]),
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
