"""Helpers of the browser tests (`tests/test_web_browser.py`): a tiny world, a server in a
real uvicorn subprocess, and headless Chromium driven by Selenium."""
