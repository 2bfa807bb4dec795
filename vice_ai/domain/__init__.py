"""The domain: the model (documents, sections, chats, messages; `app_state` and its journal records) and the services with its rules (documents, chats, deletion, load-or-404 with access checks)."""
