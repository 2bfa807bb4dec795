"""The chat engine and the context it sends to the model."""
