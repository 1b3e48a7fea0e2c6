"""Export of open_clip models to ONNX — the only package that imports torch."""
