"""Accuracy estimators: training-free scores (``zeroshot``: the default, each proxy component, params, MACs),
``proxy`` (the 64x64 ensemble), ``train`` (short training), ``predictor`` (GP screen), ``benchmark`` (a
tabular benchmark's trained accuracy, for spaces that ship one)."""

from nas.search.accuracy.base import Estimate, Estimator
from nas.search.accuracy.benchmark import BenchmarkEstimator
from nas.search.accuracy.predictor import PredictorEstimator
from nas.search.accuracy.proxy import ProxyEstimator
from nas.search.accuracy.train import TrainEstimator
from nas.search.accuracy.zeroshot import COMBINATIONS, DEFAULT as DEFAULT_ESTIMATOR, ScoreEstimator

ZEROSHOT = tuple(COMBINATIONS)
ESTIMATORS = (DEFAULT_ESTIMATOR, *(n for n in ZEROSHOT if n != DEFAULT_ESTIMATOR), "proxy", "train", "predictor",
              "benchmark")

__all__ = ["Estimate", "Estimator", "ProxyEstimator", "TrainEstimator", "PredictorEstimator", "BenchmarkEstimator",
           "ScoreEstimator", "ESTIMATORS", "ZEROSHOT", "DEFAULT_ESTIMATOR"]
