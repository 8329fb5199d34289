"""The composition root: builds real or fake hardware and starts the asyncio tasks."""
