"""StyGig on Amazon SageMaker, every command built on one :class:`~stygig.aws.config.DeploymentConfig`.

* ``config`` - the configuration, its sources and the audit rules; ``session`` - clients that
  record (and in a dry run only print) every request;
* ``names`` - what StyGig calls what it creates; ``requests`` - the requests, as pure functions;
* ``archive`` - the model archive on S3; ``package`` - ``model.tar.gz`` for the PyTorch DLC;
* ``waiting`` - bounded waits naming failures and log groups;
* ``endpoint`` (deploy), ``autoscaling``, ``redeploy``, ``teardown``, ``invoke``, ``training``;
* ``doctor`` - the audit of a live endpoint or a config file; ``images`` - the StyGig image in ECR;
  ``train_entry`` - the training job's entry point inside the container.
"""
