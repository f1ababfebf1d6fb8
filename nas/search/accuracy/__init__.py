"""Accuracy estimators: ``proxy`` (training-free), ``train`` (short training), ``predictor`` (GP screen),
``benchmark`` (a tabular benchmark's trained accuracy, for spaces that ship one)."""

from nas.search.accuracy.base import Estimate, Estimator
from nas.search.accuracy.benchmark import BenchmarkEstimator
from nas.search.accuracy.predictor import PredictorEstimator
from nas.search.accuracy.proxy import ProxyEstimator
from nas.search.accuracy.train import TrainEstimator

ESTIMATORS = ("proxy", "train", "predictor", "benchmark")

__all__ = ["Estimate", "Estimator", "ProxyEstimator", "TrainEstimator", "PredictorEstimator", "BenchmarkEstimator",
           "ESTIMATORS"]
