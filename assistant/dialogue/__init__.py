"""The dialogue engine: conversation state and the loops (form, documents checklist)."""
