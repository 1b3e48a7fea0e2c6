"""Serving: the HTTP server (SageMaker hosting contract), the request codec and the DLC handler."""
