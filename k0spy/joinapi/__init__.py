"""The k0s join API: token strings, bootstrap-token Secrets, their validation, the server and the client.

`token` (encode/decode, pure) and `source` (which token the operator gave) are cheap to import; `server`
and `client` pull in aiohttp and are imported only by the processes that serve or join.
"""
