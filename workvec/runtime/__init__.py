"""Runtime half: onnxruntime, tokenizers, numpy and hnswlib only (never torch or transformers).
The public names are re-exported by the `workvec` package itself."""
