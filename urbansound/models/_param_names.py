"""Every parameter name ``--set MODEL.PARAM=...`` accepts, per model: generated from the registry
(``get_params(deep=True)``) so the command line can refuse an unknown name without importing
scikit-learn. tests/test_models.py::test_param_names_are_the_registry_s keeps it in step;
regenerate with ``python -m urbansound.models.registry``."""

PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "logreg": (
        "logisticregression", "logisticregression__C", "logisticregression__class_weight",
        "logisticregression__dual", "logisticregression__fit_intercept", "logisticregression__intercept_scaling",
        "logisticregression__l1_ratio", "logisticregression__max_iter", "logisticregression__n_jobs",
        "logisticregression__penalty", "logisticregression__random_state", "logisticregression__solver",
        "logisticregression__tol", "logisticregression__verbose", "logisticregression__warm_start", "memory",
        "standardscaler", "standardscaler__copy", "standardscaler__with_mean", "standardscaler__with_std", "steps",
        "transform_input", "verbose",
    ),
    "mlp": (
        "memory", "mlpclassifier", "mlpclassifier__activation", "mlpclassifier__alpha",
        "mlpclassifier__batch_size", "mlpclassifier__beta_1", "mlpclassifier__beta_2",
        "mlpclassifier__early_stopping", "mlpclassifier__epsilon", "mlpclassifier__hidden_layer_sizes",
        "mlpclassifier__learning_rate", "mlpclassifier__learning_rate_init", "mlpclassifier__max_fun",
        "mlpclassifier__max_iter", "mlpclassifier__momentum", "mlpclassifier__n_iter_no_change",
        "mlpclassifier__nesterovs_momentum", "mlpclassifier__power_t", "mlpclassifier__random_state",
        "mlpclassifier__shuffle", "mlpclassifier__solver", "mlpclassifier__tol",
        "mlpclassifier__validation_fraction", "mlpclassifier__verbose", "mlpclassifier__warm_start",
        "standardscaler", "standardscaler__copy", "standardscaler__with_mean", "standardscaler__with_std", "steps",
        "transform_input", "verbose",
    ),
    "tree": (
        "ccp_alpha", "class_weight", "criterion", "max_depth", "max_features", "max_leaf_nodes",
        "min_impurity_decrease", "min_samples_leaf", "min_samples_split", "min_weight_fraction_leaf",
        "monotonic_cst", "random_state", "splitter",
    ),
    "forest": (
        "bootstrap", "ccp_alpha", "class_weight", "criterion", "max_depth", "max_features", "max_leaf_nodes",
        "max_samples", "min_impurity_decrease", "min_samples_leaf", "min_samples_split",
        "min_weight_fraction_leaf", "monotonic_cst", "n_estimators", "n_jobs", "oob_score", "random_state",
        "verbose", "warm_start",
    ),
    "hgb": (
        "categorical_features", "class_weight", "early_stopping", "interaction_cst", "l2_regularization",
        "learning_rate", "loss", "max_bins", "max_depth", "max_features", "max_iter", "max_leaf_nodes",
        "min_samples_leaf", "monotonic_cst", "n_iter_no_change", "random_state", "scoring", "tol",
        "validation_fraction", "verbose", "warm_start",
    ),
    "svm": (
        "memory", "standardscaler", "standardscaler__copy", "standardscaler__with_mean",
        "standardscaler__with_std", "steps", "svc", "svc__C", "svc__break_ties", "svc__cache_size",
        "svc__class_weight", "svc__coef0", "svc__decision_function_shape", "svc__degree", "svc__gamma",
        "svc__kernel", "svc__max_iter", "svc__probability", "svc__random_state", "svc__shrinking", "svc__tol",
        "svc__verbose", "transform_input", "verbose",
    ),
    "knn": (
        "kneighborsclassifier", "kneighborsclassifier__algorithm", "kneighborsclassifier__leaf_size",
        "kneighborsclassifier__metric", "kneighborsclassifier__metric_params", "kneighborsclassifier__n_jobs",
        "kneighborsclassifier__n_neighbors", "kneighborsclassifier__p", "kneighborsclassifier__weights", "memory",
        "standardscaler", "standardscaler__copy", "standardscaler__with_mean", "standardscaler__with_std", "steps",
        "transform_input", "verbose",
    ),
    "gd-logreg": (
        "batch_size", "early_stopping", "epochs", "eta", "lam", "momentum", "patience", "random_state", "solver",
        "tol", "validation_fraction",
    ),
    "fnn": (
        "activation", "alpha_leaky", "batch_size", "early_stopping", "epochs", "eta", "hidden", "lam", "momentum",
        "patience", "random_state", "solver", "tol", "validation_fraction",
    ),
    "vote": (
        "estimators", "flatten_transform", "fnn", "fnn__activation", "fnn__alpha_leaky", "fnn__batch_size",
        "fnn__early_stopping", "fnn__epochs", "fnn__eta", "fnn__hidden", "fnn__lam", "fnn__momentum",
        "fnn__patience", "fnn__random_state", "fnn__solver", "fnn__tol", "fnn__validation_fraction", "logreg",
        "logreg__logisticregression", "logreg__logisticregression__C", "logreg__logisticregression__class_weight",
        "logreg__logisticregression__dual", "logreg__logisticregression__fit_intercept",
        "logreg__logisticregression__intercept_scaling", "logreg__logisticregression__l1_ratio",
        "logreg__logisticregression__max_iter", "logreg__logisticregression__n_jobs",
        "logreg__logisticregression__penalty", "logreg__logisticregression__random_state",
        "logreg__logisticregression__solver", "logreg__logisticregression__tol",
        "logreg__logisticregression__verbose", "logreg__logisticregression__warm_start", "logreg__memory",
        "logreg__standardscaler", "logreg__standardscaler__copy", "logreg__standardscaler__with_mean",
        "logreg__standardscaler__with_std", "logreg__steps", "logreg__transform_input", "logreg__verbose",
        "n_jobs", "verbose", "voting", "weights",
    ),
    "cnn": (
        "batch_size", "channels", "dropout", "epochs", "freq_mask", "lr", "mixup", "n_bands", "patch", "pool",
        "random_state", "threads", "time_mask", "weight_decay",
    ),
    "rnn": (
        "functiontransformer", "functiontransformer__accept_sparse", "functiontransformer__check_inverse",
        "functiontransformer__feature_names_out", "functiontransformer__func", "functiontransformer__inv_kw_args",
        "functiontransformer__inverse_func", "functiontransformer__kw_args", "functiontransformer__validate",
        "memory", "recurrentnetwork", "recurrentnetwork__batch_size", "recurrentnetwork__cell",
        "recurrentnetwork__clip", "recurrentnetwork__early_stopping", "recurrentnetwork__epochs",
        "recurrentnetwork__eta", "recurrentnetwork__hidden", "recurrentnetwork__lam", "recurrentnetwork__momentum",
        "recurrentnetwork__n_features", "recurrentnetwork__patience", "recurrentnetwork__pooling",
        "recurrentnetwork__random_state", "recurrentnetwork__solver", "recurrentnetwork__tol",
        "recurrentnetwork__validation_fraction", "steps", "transform_input", "verbose",
    ),
}
