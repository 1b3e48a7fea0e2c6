"""Measuring outfit quality the way the field does (issue 13).

* :mod:`.looks`: curated looks (``looks.jsonl``), fill-in-the-blank questions and compatibility
  outfits as files, read and checked against an artifact's catalog;
* :mod:`.metrics`: the metrics as free functions over arrays (FITB accuracy, ROC AUC, coverage,
  diversity, percentiles), in the style of faiss ``contrib/evaluation``;
* :mod:`.runner`: questions drawn from looks, scored by an artifact's compatibility component,
  and the one-piece queries behind coverage, rule violations, diversity and latency;
* :mod:`.polyvore`: the Polyvore Outfits dataset's own layout into StyGig's files.
"""
