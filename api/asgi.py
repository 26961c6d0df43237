"""`uvicorn api.asgi:app`: the application built from the environment's settings."""
from api.app import create_app

app = create_app(freeze_gc=True)  # a serving process: see create_app
