"""Control plane: one package per AWS service (api.py, models.py, errors.py, _spec.py)."""
