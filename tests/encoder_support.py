"""Shared by the Encoder tests (test_encoder.py, test_encoder_open.py): the tiny bundles' sizes and sample texts."""

# The committed tiny bundles' embedding size and max_seq_length, and texts to encode.
DIM = 32
MAX_LEN = 128
TEXTS = [
    "software engineer",
    "registered nurse in a busy emergency department, night shifts",
    "",
    "SQL",
    "Wir suchen eine Buchhalterin (m/w/d) mit Erfahrung in SAP",
    "truck driver",
    "lead data scientist with deep experience in python, spark, airflow and cloud platforms such as aws and gcp",
    "chef",
    "project manager",
    "customer service representative — fluent English and French",
    "a",
]
