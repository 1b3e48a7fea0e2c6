"""Clients of a StyGig server or SageMaker endpoint: ``runtime`` (boto3's sagemaker-runtime, one
invocation), ``pictures`` (item pictures for ``--save-visual``)."""
