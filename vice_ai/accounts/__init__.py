"""Who is asking and what they may do: users on disk, identity per request (cookie, local user, proxy header), access rules."""
