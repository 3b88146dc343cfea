"""Where a run's requests are answered: in this process (`local`, the default) or spread over Ray
actors (`ray`, executors/ray_pool.py). The runner does not know the difference: an executor is a Model."""
