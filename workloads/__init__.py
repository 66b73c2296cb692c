"""The platform's bundled PyTorch workloads: a preemption-safe DDP trainer and a batching inference server.

Both share one tiny but real model (a character-level transformer, ``workloads.model``) trained on a public-domain
text bundled in ``workloads/data`` so nothing is downloaded at run time, and one artifact format
(``workloads.artifact``) that the trainer exports to the model bucket and the server loads from any fsspec URI.
"""
