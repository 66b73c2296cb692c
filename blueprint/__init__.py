"""The platform's lower layers: the typed spec and catalog, the offline plan engine and the cost estimator."""
