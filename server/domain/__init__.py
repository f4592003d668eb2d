"""Business rules, independent of HTTP: routes, the chat and the console call these inside the caller's transaction."""
