"""Recommendation: query pieces in, an outfit out.

One module per stage, in the order a request runs them:

* :mod:`~stygig.recommend.query` — the query (:class:`Query` of 1..``MAX_PIECES`` pieces, each
  an image, a text or a catalog item id) and its resolution into vectors and colours;
* :mod:`~stygig.recommend.infer` — the query's category and gender (neighbour vote, zero-shot
  prompts for text) and the vote's leave-one-out accuracy;
* :mod:`~stygig.recommend.retrieve` — candidates per complementary category from its FAISS
  index, and the :class:`Filters` they pass;
* :mod:`~stygig.recommend.compat` — compatibility of candidates with context pieces (the
  heuristic blend; a learned model later), chosen by a kind name in the artifact's manifest;
* :mod:`~stygig.recommend.compose` — which candidates make the outfit, in which order;
* :mod:`~stygig.recommend.explain` — the readable reason of each piece;
* :mod:`~stygig.recommend.engine` — the :class:`Recommender`: loads an artifact, runs the stages.

The options a request may carry are defined in :mod:`stygig.schema`. Nothing here knows HTTP or AWS.
"""
