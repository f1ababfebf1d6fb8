"""Accuracy estimators: ``proxy`` (training-free), ``train`` (short training), ``predictor`` (GP screen)."""

from nas.search.accuracy.base import Estimate, Estimator
from nas.search.accuracy.predictor import PredictorEstimator
from nas.search.accuracy.proxy import ProxyEstimator
from nas.search.accuracy.train import TrainEstimator

ESTIMATORS = ("proxy", "train", "predictor")

__all__ = ["Estimate", "Estimator", "ProxyEstimator", "TrainEstimator", "PredictorEstimator", "ESTIMATORS"]
