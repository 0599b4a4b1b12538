"""scikit-learn's estimator rules: clone, get_params/set_params, GridSearchCV."""

import numpy as np
import pytest

import hnn


def test_params_round_trip_without_sklearn_machinery():
    model = hnn.HNN(hidden=(8,), steps=5, learning_rate=1e-2)
    params = model.get_params()
    assert params["hidden"] == (8,) and params["steps"] == 5 and params["learning_rate"] == 1e-2
    assert hnn.HNN(**params).get_params() == params
    assert model.set_params(steps=7) is model and model.steps == 7
    with pytest.raises(ValueError, match="steps"):
        model.set_params(stepz=3)
    assert not hasattr(model, "model_")  # the constructor stores hyperparameters only


def test_clone_and_grid_search(spring):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    model = hnn.HNN(hidden=(16, 16), steps=30)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    search = GridSearchCV(hnn.HNN(hidden=(16, 16), steps=60), {"learning_rate": [1e-4, 3e-3]}, cv=2)
    search.fit(spring.train_z, spring.train_dz)
    # A larger step trains further in 60 steps: the search must find it.
    assert search.best_params_ == {"learning_rate": 3e-3}, search.cv_results_["mean_test_score"]
    assert isinstance(search.best_estimator_, hnn.HNN) and np.isfinite(search.score(spring.test_z, spring.test_dz))
    assert sklearn.__version__
