"""Features of an item: an embedding (through an :class:`~stygig.features.encoders.base.Encoder`),
dominant colours (:mod:`stygig.features.colour`) and a foreground mask (:mod:`stygig.features.mask`)."""
