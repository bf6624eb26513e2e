"""A small asyncio Kubernetes API client: just what k0spy needs (Secrets), over aiohttp."""
