"""Who is asking and what they may do.

Users on disk (`users`), who a request comes from (`identity`: cookie, local user or
proxy header), the access rules (`access`), and the account flows the API calls (`service`).
"""
