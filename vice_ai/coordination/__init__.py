"""Which process runs what: leases on a chat's generation and on a notification stream (see `leases`)."""
