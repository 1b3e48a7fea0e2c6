"""Colour features, one job per module (plain numpy, deterministic):

* :mod:`.space` -- sRGB <-> CIELAB <-> LCh, CIEDE2000 and CIE76 differences;
* :mod:`.mask` -- the garment's foreground mask in a product photo;
* :mod:`.dominant` -- dominant colours: k-means in CIELAB over the foreground;
* :mod:`.names` -- colour names (palette) and the colour words of a text query;
* :mod:`.harmony` -- harmony of two colour sets on an artist's colour wheel.

Dependencies point one way: space <- mask <- dominant <- harmony; names uses space only.
"""
