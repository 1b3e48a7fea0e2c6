"""Encoders: pictures (and text) -> L2-normalised vectors.

* :mod:`.base` -- the :class:`~.base.Encoder` interface (no implementation);
* :mod:`.registry` -- kind name -> implementation (``lite``, ``precomputed``, ``clip-onnx``, and
  any registered by another package), :func:`~.registry.load_encoder`,
  :func:`~.registry.resolve_encoder`;
* :mod:`.lite`, :mod:`.precomputed`, :mod:`.clip_onnx` -- the built-in kinds;
* :mod:`.tokenizer` -- CLIP's BPE tokenizer without torch.
"""
