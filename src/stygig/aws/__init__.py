"""AWS tooling: one DeploymentConfig behind deploy / redeploy / train / pipeline / doctor."""
