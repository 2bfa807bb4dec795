"""The domain, in two layers.

The model: documents, sections, chats, messages (`models`), `app_state` with a lock per
resource (`state`), journal records, variables. The services with the rules: `documents`,
`chats`, `sharing`, `export`, `deletion`, and `resources` (load-or-404 with access checks).
"""
