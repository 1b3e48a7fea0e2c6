"""Features of an item: an embedding (through an :class:`~stygig.features.encoders.base.Encoder`),
dominant colours, their names and harmony, and the foreground mask (:mod:`stygig.features.colour`)."""
