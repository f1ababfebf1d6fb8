"""FBNet's differentiable architecture search (Wu et al. 2019): supernet, Gumbel-softmax, latency loss."""
